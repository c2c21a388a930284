import { withDeadline } from '../shared/deadline'
import { basicAuthorization } from './http-auth'
import {
  assertTopicName,
  KafkaHttpError,
  KafkaTopicNotFoundError,
  type FetchResult,
  type KafkaReader,
  type KafkaRecord,
  type OffsetBound,
  type TopicPartition,
} from './kafka-reader'
import { probeLogEnd, probeLogStart } from './offset-probe'

export interface RedpandaProxyOptions {
  /** Base URL of the HTTP Proxy, e.g. http://127.0.0.1:8082 */
  url: string
  username?: string
  password?: string
  /** `max_bytes` of each records request. */
  maxBytes: number
  /** Allowed for an answer beyond the server-side wait of the request. */
  requestTimeoutMs: number
}

/** Binary embedding: keys and values arrive base64-encoded, so any payload bytes survive. */
const RECORDS_ACCEPT = 'application/vnd.kafka.binary.v2+json'
const MAX_PARTITIONS = 100_000

/**
 * The Redpanda HTTP Proxy (pandaproxy): `GET /topics` lists topic names and
 * `GET /topics/{topic}/partitions/{partition}/records?offset&timeout&max_bytes`
 * reads a partition from an offset. It has no partition-metadata or offsets
 * endpoint, so both are derived from the records endpoint: a partition exists when
 * it does not answer 404, and bounds are found by probing (see offset-probe.ts).
 */
export class RedpandaProxyReader implements KafkaReader {
  private readonly base: string
  private readonly headers: Record<string, string>

  constructor(private readonly options: RedpandaProxyOptions) {
    this.base = options.url.replace(/\/+$/, '')
    this.headers =
      options.username === undefined ? {} : { Authorization: basicAuthorization(options.username, options.password ?? '') }
  }

  async partitionCount(topic: string, signal: AbortSignal, known = 0): Promise<number> {
    assertTopicName(topic)
    const names = await this.get('/topics', 'application/vnd.kafka.v2+json', 0, signal)
    if (names.status !== 200 || !Array.isArray(names.body)) throw this.unexpected('GET /topics', names)
    if (!names.body.includes(topic)) throw new KafkaTopicNotFoundError(topic)
    // Asked beyond any log end, an existing partition answers "out of range" without sending a record batch.
    const exists = async (partition: number) => (await this.read({ topic, partition }, Number.MAX_SAFE_INTEGER, 0, 1, signal)) !== 'no-partition'
    let count = known
    while (count < MAX_PARTITIONS && (await exists(count))) count++
    if (count === 0) throw new KafkaTopicNotFoundError(topic)
    return count
  }

  offsets(partitions: TopicPartition[], bound: OffsetBound, signal: AbortSignal, near?: readonly number[]): Promise<number[]> {
    return Promise.all(
      partitions.map((at, i) => {
        const inRange = async (offset: number) => {
          const result = await this.read(at, offset, 0, 1, signal)
          if (result === 'no-partition') throw new KafkaTopicNotFoundError(at.topic)
          return !('outOfRange' in result)
        }
        const what = `${at.topic}/${at.partition}`
        return bound === 'start' ? probeLogStart(inRange, what, near?.[i]) : probeLogEnd(inRange, what, near?.[i])
      }),
    )
  }

  async fetch(at: TopicPartition, offset: number, waitMs: number, signal: AbortSignal): Promise<FetchResult> {
    const result = await this.read(at, offset, waitMs, this.options.maxBytes, signal)
    if (result === 'no-partition') throw new KafkaTopicNotFoundError(at.topic)
    return result
  }

  private async read(
    at: TopicPartition,
    offset: number,
    waitMs: number,
    maxBytes: number,
    signal: AbortSignal,
  ): Promise<FetchResult | 'no-partition'> {
    assertTopicName(at.topic)
    const path = `/topics/${at.topic}/partitions/${at.partition}/records?offset=${offset}&timeout=${waitMs}&max_bytes=${maxBytes}`
    const answer = await this.get(path, RECORDS_ACCEPT, waitMs, signal)
    if (answer.status === 404) return 'no-partition'
    if (answer.status === 200) return { records: parseRecords(answer.body, offset) }
    // Kafka's OFFSET_OUT_OF_RANGE comes back as 400 {error_code: 40002, message: "offset_out_of_range"}.
    if (answer.status === 400 && /out.of.range/i.test(errorMessage(answer.body))) return { outOfRange: true }
    throw this.unexpected(`GET ${path}`, answer)
  }

  private get(path: string, accept: string, waitMs: number, signal: AbortSignal): Promise<Answer> {
    const what = `Redpanda HTTP Proxy request GET ${path}`
    return withDeadline(what, waitMs + this.options.requestTimeoutMs, signal, async (callSignal) => {
      let response: Response
      try {
        response = await fetch(`${this.base}${path}`, { headers: { ...this.headers, Accept: accept }, signal: callSignal })
      } catch (error) {
        throw new KafkaHttpError(`${what} failed: ${error instanceof Error ? error.message : String(error)}`)
      }
      const text = await response.text()
      let body: unknown
      try {
        body = JSON.parse(text)
      } catch {
        body = undefined
      }
      return { status: response.status, body }
    }, KafkaHttpError)
  }

  private unexpected(what: string, answer: Answer): KafkaHttpError {
    return new KafkaHttpError(`Redpanda HTTP Proxy answered ${what} with ${answer.status} ${errorMessage(answer.body)}`.trim())
  }
}

interface Answer {
  status: number
  body: unknown
}

function errorMessage(body: unknown): string {
  if (typeof body !== 'object' || body === null || !('message' in body)) return ''
  return String(body.message)
}

/**
 * The proxy answers a bare array of records (its OpenAPI document says
 * `{records: […]}`; both are accepted). Kafka returns whole record batches, so the
 * first batch may start below the requested offset: those records are dropped.
 */
function parseRecords(body: unknown, from: number): KafkaRecord[] {
  const list = Array.isArray(body) ? body : typeof body === 'object' && body !== null && 'records' in body ? body.records : undefined
  if (!Array.isArray(list)) throw new KafkaHttpError('Redpanda HTTP Proxy answered records in an unknown shape')
  const records: KafkaRecord[] = []
  for (const item of list as { offset?: unknown; value?: unknown }[]) {
    const offset = item.offset
    if (typeof offset !== 'number' || !Number.isSafeInteger(offset)) throw new KafkaHttpError('Redpanda HTTP Proxy answered a record without an offset')
    if (offset < from) continue
    records.push({ offset, value: typeof item.value === 'string' ? decodeBase64Text(item.value) : null })
  }
  return records
}

const utf8 = new TextDecoder()
const NON_ASCII = /[^\x00-\x7f]/

function decodeBase64Text(base64: string): string {
  const binary = atob(base64)
  // Most payloads are ASCII JSON, whose bytes already are its text.
  if (!NON_ASCII.test(binary)) return binary
  const bytes = new Uint8Array(binary.length)
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i)
  return utf8.decode(bytes)
}
