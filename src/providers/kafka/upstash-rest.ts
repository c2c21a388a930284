import { Kafka } from '@upstash/kafka'
import { withDeadline } from '../shared/deadline'
import {
  assertTopicName,
  KafkaHttpError,
  KafkaTopicNotFoundError,
  type FetchResult,
  type KafkaReader,
  type OffsetBound,
  type TopicPartition,
} from './kafka-reader'

export interface UpstashRestOptions {
  /** Base URL of an Upstash-compatible Kafka REST endpoint. */
  url: string
  username?: string
  password?: string
  /** Allowed for an answer beyond the server-side wait of the request. */
  requestTimeoutMs: number
}

/**
 * The Upstash Kafka REST protocol through @upstash/kafka: `GET /topics` (topic ->
 * partition count), `POST /offsets/earliest|latest` and `POST /fetch` by topic,
 * partition and offset. The client retries every failure five times with backoff
 * and takes no abort signal, so each call is bounded by `withDeadline`; an
 * abandoned call finishes its retries in the background and is ignored.
 */
export class UpstashRestReader implements KafkaReader {
  private readonly kafka: Kafka

  constructor(private readonly options: UpstashRestOptions) {
    this.kafka = new Kafka({ url: options.url, username: options.username ?? '', password: options.password ?? '' })
  }

  async partitionCount(topic: string, signal: AbortSignal): Promise<number> {
    assertTopicName(topic)
    const topics = await this.call('GET /topics', 0, signal, () => this.kafka.admin().topics())
    const count = topics[topic]
    if (typeof count !== 'number' || count < 1) throw new KafkaTopicNotFoundError(topic)
    return count
  }

  async offsets(partitions: TopicPartition[], bound: OffsetBound, signal: AbortSignal): Promise<number[]> {
    const timestamp = bound === 'start' ? 'earliest' : 'latest'
    const answer = await this.call(`POST /offsets/${timestamp}`, 0, signal, () =>
      this.kafka.admin().topicPartitionOffsets({ timestamp, topicPartitions: partitions }),
    )
    return partitions.map(({ topic, partition }) => {
      const found = answer.find((entry) => entry.topic === topic && entry.partition === partition)
      if (found === undefined) throw new KafkaHttpError(`POST /offsets/${timestamp} answered no offset for ${topic}/${partition}`)
      return found.offset
    })
  }

  async fetch(at: TopicPartition, offset: number, waitMs: number, signal: AbortSignal): Promise<FetchResult> {
    assertTopicName(at.topic)
    const messages = await this.call('POST /fetch', waitMs, signal, () =>
      this.kafka.consumer().fetch({ topic: at.topic, partition: at.partition, offset, timeout: waitMs }, { parallel: false }),
    )
    const records = messages
      .filter((m) => m.topic === at.topic && m.partition === at.partition && m.offset >= offset)
      .map((m) => ({ offset: m.offset, value: m.value }))
    if (records.length > 0) return { records }
    // An empty answer means "at the log end" or "deleted by retention / beyond the end": the offsets tell which.
    const [[start = 0], [end = 0]] = await Promise.all([this.offsets([at], 'start', signal), this.offsets([at], 'end', signal)])
    return offset < start || offset > end ? { outOfRange: true } : { records: [] }
  }

  private call<T>(what: string, waitMs: number, signal: AbortSignal, run: () => Promise<T>): Promise<T> {
    return withDeadline(`Upstash Kafka REST ${what}`, waitMs + this.options.requestTimeoutMs, signal, async () => {
      try {
        return await run()
      } catch (error) {
        throw new KafkaHttpError(`Upstash Kafka REST ${what} failed: ${error instanceof Error ? error.message : String(error)}`)
      }
    }, KafkaHttpError)
  }
}
