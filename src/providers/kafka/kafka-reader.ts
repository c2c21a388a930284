import { StreamError } from '../../errors'

/**
 * What the Kafka provider needs from a Kafka HTTP endpoint: partition counts, a
 * partition's offset bounds, and records from an offset. Each HTTP protocol
 * (Redpanda HTTP Proxy, Upstash Kafka REST) is one adapter behind this interface.
 * Every call is stateless: nothing on the server remembers a reader between calls.
 */
export interface TopicPartition {
  topic: string
  partition: number
}

export interface KafkaRecord {
  offset: number
  /** The record value as UTF-8 text; null for a tombstone. */
  value: string | null
}

export type FetchResult =
  /** Records at offsets >= the requested one, in offset order (possibly none). */
  | { records: KafkaRecord[] }
  /** The offset lies outside the partition's [log start, log end]: deleted by retention, or beyond the end. */
  | { outOfRange: true }

/** `start`: the earliest retained offset. `end`: the offset the next record will get. */
export type OffsetBound = 'start' | 'end'

export interface KafkaReader {
  /**
   * How many partitions `topic` has; throws KafkaTopicNotFoundError when it does not exist.
   * `known`: a count the caller already saw (partitions are never removed), a shortcut for adapters that search.
   */
  partitionCount(topic: string, signal: AbortSignal, known?: number): Promise<number>
  /**
   * The requested bound of each partition, in the order asked.
   * `near`: offsets the caller was at, a starting point for adapters that search.
   */
  offsets(partitions: TopicPartition[], bound: OffsetBound, signal: AbortSignal, near?: readonly number[]): Promise<number[]>
  /** Records from `offset` on, waiting up to `waitMs` on the server when there are none yet. */
  fetch(at: TopicPartition, offset: number, waitMs: number, signal: AbortSignal): Promise<FetchResult>
}

/**
 * A topic the subscription names does not exist on the broker. The client is told so (the
 * topic comes from its own arguments) and retries: the topic may yet be created.
 */
export class KafkaTopicNotFoundError extends StreamError {
  constructor(readonly topic: string) {
    super('UNKNOWN_TOPIC', `Kafka topic "${topic}" does not exist`, false)
    this.name = 'KafkaTopicNotFoundError'
  }
}

/** The HTTP endpoint answered something other than what its protocol documents. */
export class KafkaHttpError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'KafkaHttpError'
  }
}

/**
 * Twice in a row, a partition answered "out of range" at an offset at or above its log
 * start, i.e. beyond its log end, while the stream is there (it may have read records up to
 * it): the topic was recreated, or the broker keeps answering from behind. The stream ends
 * instead of going back; a reconnect with the last id reports `unknown-position` first.
 */
export class KafkaReaderRewoundError extends Error {
  constructor(at: TopicPartition, offset: number, start: number) {
    super(`Kafka partition ${at.topic}/${at.partition} ends below offset ${offset}, where this stream is (log start ${start}): the topic was recreated or the broker answers from behind`)
    this.name = 'KafkaReaderRewoundError'
  }
}

/** Kafka's legal topic names; anything else could also change the meaning of a URL path. */
const TOPIC_NAME = /^[A-Za-z0-9._-]{1,249}$/

export function assertTopicName(topic: string): void {
  if (!TOPIC_NAME.test(topic) || topic === '.' || topic === '..') {
    throw new KafkaHttpError(`"${topic.slice(0, 64)}" is not a legal Kafka topic name`)
  }
}
