import type { KafkaBackend } from './kafka-backend'
import { basicAuthMatches, serveJson, type JsonReply, type RunningHttpServer } from './json-http-server'
import { intercepted, type ProxyOptions } from './redpanda-proxy-server'

/**
 * The read side of the Upstash Kafka REST API, translated onto the real test
 * broker, as Upstash documents it (docs/kafka/rest: restmetadata, restconsumer):
 *
 * - `GET /topics` -> `{topic: partitionCount, …}`.
 * - `[GET|POST] /offsets/{earliest|latest|<timestamp ms>}?timeout=` with a
 *   TopicPartition or an array of them -> `[{topic, partition, offset}]`.
 * - `[GET|POST] /fetch` with `{topic, partition, offset, topicPartitionOffsets, timeout}`
 *   (timeout defaults to 1000 ms) -> `[{topic, partition, offset, timestamp, key, value,
 *   headers}]`, the messages from the given offset on (none when nothing is stored
 *   there: at the log end, or below the log start after retention).
 * - errors `{error, status}`; 401 without the configured Basic credentials.
 *
 * Produce and consumer-group endpoints are not translated: the provider does not use them.
 */
interface TopicPartitionOffset {
  topic: string
  partition: number
  offset: number
}

/** A request's fields before they are checked: any may be missing. */
type UncheckedTopicPartitionOffset = { [Field in keyof TopicPartitionOffset]?: TopicPartitionOffset[Field] | undefined }

const OFFSETS = /^\/offsets\/([^/]+)$/

export function startUpstashRest(backend: KafkaBackend, options: ProxyOptions = {}): Promise<RunningHttpServer> {
  return serveJson(intercepted(options, async (request) => {
    if (!basicAuthMatches(request.headers, options.username, options.password)) return error(401, 'Unauthorized')
    if (request.method === 'GET' && request.path === '/topics') return { status: 200, body: Object.fromEntries(await backend.topics()) }
    if (request.method !== 'GET' && request.method !== 'POST') return error(405, 'Method not allowed')
    let body: unknown
    try {
      body = request.body === '' ? undefined : JSON.parse(request.body)
    } catch {
      return error(400, 'The request body is not valid JSON')
    }
    const offsets = OFFSETS.exec(request.path)
    if (offsets) return partitionOffsets(backend, decodeURIComponent(offsets[1]!), body)
    if (request.path === '/fetch') return fetchMessages(backend, body)
    return error(404, 'Not found')
  }), options.port)
}

async function partitionOffsets(backend: KafkaBackend, at: string, body: unknown): Promise<JsonReply> {
  const timestamp = at === 'earliest' || at === 'latest' ? at : /^\d+$/.test(at) ? Number(at) : undefined
  if (timestamp === undefined) return error(400, `Invalid timestamp: ${at}`)
  const partitions = (Array.isArray(body) ? body : [body]) as UncheckedTopicPartitionOffset[]
  if (!partitions.every(isTopicPartition)) return error(400, 'The body must be a TopicPartition or an array of them')
  const result: TopicPartitionOffset[] = []
  for (const { topic, partition } of partitions) {
    const offset = await backend.offset(topic, partition, timestamp)
    if (offset === undefined) return error(400, `Unknown topic or partition: ${topic}-${partition}`)
    result.push({ topic, partition, offset })
  }
  return { status: 200, body: result }
}

async function fetchMessages(backend: KafkaBackend, body: unknown): Promise<JsonReply> {
  const request = (body ?? {}) as UncheckedTopicPartitionOffset & { topicPartitionOffsets?: unknown; timeout?: unknown }
  const wanted: UncheckedTopicPartitionOffset[] = Array.isArray(request.topicPartitionOffsets) ? [...request.topicPartitionOffsets] : []
  if (request.topic !== undefined) wanted.push({ topic: request.topic, partition: request.partition, offset: request.offset })
  if (wanted.length === 0 || !wanted.every((w) => isTopicPartition(w) && isWholeNumber(w.offset))) {
    return error(400, 'A FetchRequest needs topic, partition and offset, or topicPartitionOffsets')
  }
  const timeout = isWholeNumber(request.timeout) ? request.timeout : 1000
  const messages: unknown[] = []
  for (const { topic, partition, offset } of wanted as TopicPartitionOffset[]) {
    const outcome = await backend.fetch(topic, partition, offset, timeout, 1_048_576)
    if (outcome === 'unknown-partition') return error(400, `Unknown topic or partition: ${topic}-${partition}`)
    if (outcome === 'out-of-range') continue
    for (const record of outcome.records) {
      if (record.offset < offset) continue
      messages.push({
        topic,
        partition,
        offset: record.offset,
        timestamp: record.timestamp,
        key: record.key?.toString('utf8') ?? '',
        value: record.value?.toString('utf8') ?? '',
        headers: record.headers.map((h) => ({ key: h.key, value: h.value?.toString('utf8') ?? '' })),
      })
    }
  }
  return { status: 200, body: messages }
}

function isTopicPartition(value: UncheckedTopicPartitionOffset | null | undefined): value is TopicPartitionOffset {
  return typeof value === 'object' && value !== null && typeof value.topic === 'string' && isWholeNumber(value.partition)
}

function isWholeNumber(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0
}

function error(status: number, message: string): JsonReply {
  return { status, body: { error: message, status } }
}
