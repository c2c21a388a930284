import { withDeadline } from '../shared/deadline'
import { basicAuthorization } from './http-auth'
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

interface UpstashMessage {
  topic?: unknown
  partition?: unknown
  offset?: unknown
  value?: unknown
}

/**
 * The Upstash Kafka REST protocol with plain fetch: `GET /topics` (topic -> partition
 * count), `POST /offsets/earliest|latest` and `POST /fetch` by topic, partition and
 * offset. Each call is exactly one HTTP request, never retried here: on Workers every
 * request is a counted subrequest, and a failed read ends the stream, whose client
 * resumes from its cursor. (The vendor's client retried each failure five times with
 * backoff, which hid requests and held a stream for seconds.)
 */
export class UpstashRestReader implements KafkaReader {
  private readonly base: string
  private readonly headers: Record<string, string>

  constructor(private readonly options: UpstashRestOptions) {
    this.base = options.url.replace(/\/+$/, '')
    this.headers = options.username === undefined ? {} : { Authorization: basicAuthorization(options.username, options.password ?? '') }
  }

  async partitionCount(topic: string, signal: AbortSignal): Promise<number> {
    assertTopicName(topic)
    const topics = await this.call('GET', '/topics', undefined, 0, signal)
    const count = typeof topics === 'object' && topics !== null ? (topics as Record<string, unknown>)[topic] : undefined
    if (typeof count !== 'number' || count < 1) throw new KafkaTopicNotFoundError(topic)
    return count
  }

  async offsets(partitions: TopicPartition[], bound: OffsetBound, signal: AbortSignal): Promise<number[]> {
    const timestamp = bound === 'start' ? 'earliest' : 'latest'
    const body = partitions.map(({ topic, partition }) => ({ topic, partition }))
    const answer = await this.call('POST', `/offsets/${timestamp}`, body, 0, signal)
    if (!Array.isArray(answer)) throw new KafkaHttpError(`Upstash Kafka REST POST /offsets/${timestamp} answered an unknown shape`)
    return partitions.map(({ topic, partition }) => {
      const found = (answer as UpstashMessage[]).find((entry) => entry.topic === topic && entry.partition === partition)
      if (typeof found?.offset !== 'number') throw new KafkaHttpError(`Upstash Kafka REST POST /offsets/${timestamp} answered no offset for ${topic}/${partition}`)
      return found.offset
    })
  }

  async fetch(at: TopicPartition, offset: number, waitMs: number, signal: AbortSignal): Promise<FetchResult> {
    assertTopicName(at.topic)
    const answer = await this.call('POST', '/fetch', { topic: at.topic, partition: at.partition, offset, timeout: waitMs }, waitMs, signal)
    if (!Array.isArray(answer)) throw new KafkaHttpError('Upstash Kafka REST POST /fetch answered an unknown shape')
    const records = []
    for (const m of answer as UpstashMessage[]) {
      if (m.topic !== at.topic || m.partition !== at.partition || typeof m.offset !== 'number' || m.offset < offset) continue
      records.push({ offset: m.offset, value: typeof m.value === 'string' ? m.value : null })
    }
    if (records.length > 0) return { records }
    // An empty answer means "at the log end" or "deleted by retention / beyond the end": the offsets tell which.
    const [[start = 0], [end = 0]] = await Promise.all([this.offsets([at], 'start', signal), this.offsets([at], 'end', signal)])
    return offset < start || offset > end ? { outOfRange: true } : { records: [] }
  }

  private call(method: 'GET' | 'POST', path: string, body: unknown, waitMs: number, signal: AbortSignal): Promise<unknown> {
    const what = `Upstash Kafka REST ${method} ${path}`
    return withDeadline(what, waitMs + this.options.requestTimeoutMs, signal, async (callSignal) => {
      let response: Response
      try {
        response = await fetch(`${this.base}${path}`, {
          method,
          headers: body === undefined ? this.headers : { ...this.headers, 'Content-Type': 'application/json' },
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
          signal: callSignal,
        })
      } catch (error) {
        throw new KafkaHttpError(`${what} failed: ${error instanceof Error ? error.message : String(error)}`)
      }
      const text = await response.text()
      if (response.status !== 200) throw new KafkaHttpError(`${what} answered ${response.status} ${text.slice(0, 200)}`.trim())
      try {
        return JSON.parse(text) as unknown
      } catch {
        throw new KafkaHttpError(`${what} answered no JSON`)
      }
    }, KafkaHttpError)
  }
}
