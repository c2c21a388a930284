import type { KafkaBackend } from './kafka-backend'
import { basicAuthMatches, serveJson, type JsonReply, type JsonRequest, type RunningHttpServer } from './json-http-server'

/**
 * The read side of the Redpanda HTTP Proxy (pandaproxy), translated onto the real
 * test broker, as Redpanda documents and implements it:
 *
 * - `GET /topics` -> `["topic", …]` (internal topics left out).
 * - `GET /topics/{topic}/partitions/{partition}/records?offset=&timeout=&max_bytes=`
 *   with `Accept: application/vnd.kafka.binary.v2+json` (key and value base64) or
 *   `application/vnd.kafka.json.v2+json` (key and value embedded JSON) ->
 *   a bare array `[{topic, key, value, partition, offset}]` (the guide's output and the
 *   implementation; the OpenAPI file shows `{records: […]}`). Like Redpanda, whole
 *   record batches are returned, so records below `offset` may lead the answer.
 * - errors `{error_code, message}`: 404/40402 unknown topic or partition,
 *   400/40002 `offset_out_of_range` (Kafka's OFFSET_OUT_OF_RANGE: below the log start or
 *   beyond the log end), 400 for missing parameters, 406 for another Accept,
 *   401/40101 without the configured Basic credentials.
 *
 * Produce and consumer-group endpoints are not translated: the provider does not use them.
 */
export interface ProxyOptions {
  port?: number
  username?: string
  password?: string
  /**
   * Runs before each request is translated: it may delay it (resolve later) or answer
   * it instead (resolve a reply), so a test can force a slow or failed request.
   */
  intercept?: (request: JsonRequest) => Promise<JsonReply | undefined>
}

/** `handle`, preceded by the options' intercept when there is one. */
export function intercepted(options: ProxyOptions, handle: (request: JsonRequest) => Promise<JsonReply>): (request: JsonRequest) => Promise<JsonReply> {
  const intercept = options.intercept
  if (intercept === undefined) return handle
  return async (request) => (await intercept(request)) ?? handle(request)
}

const RECORDS = /^\/topics\/([^/]+)\/partitions\/([^/]+)\/records$/
const BINARY = 'application/vnd.kafka.binary.v2+json'
const JSON_EMBEDDED = 'application/vnd.kafka.json.v2+json'

export function startRedpandaProxy(backend: KafkaBackend, options: ProxyOptions = {}): Promise<RunningHttpServer> {
  return serveJson(intercepted(options, async (request) => {
    if (!basicAuthMatches(request.headers, options.username, options.password)) return error(401, 40101, 'Unauthorized')
    if (request.method !== 'GET') return error(405, 405, 'Method Not Allowed')
    if (request.path === '/topics') return { status: 200, body: [...(await backend.topics()).keys()], contentType: 'application/vnd.kafka.v2+json' }
    const match = RECORDS.exec(request.path)
    if (!match) return error(404, 404, 'Not found')
    const accept = request.headers.accept ?? ''
    const format = accept.includes(BINARY) ? 'binary' : accept.includes(JSON_EMBEDDED) ? 'json' : undefined
    if (format === undefined) return error(406, 406, 'HTTP 406 Not Acceptable')
    const partition = wholeNumber(match[2])
    const offset = wholeNumber(request.query.get('offset'))
    const timeout = wholeNumber(request.query.get('timeout'))
    const maxBytes = wholeNumber(request.query.get('max_bytes'))
    if (partition === undefined) return error(400, 400, 'Invalid parameter \'partition_id\'')
    for (const [name, value] of [['offset', offset], ['timeout', timeout], ['max_bytes', maxBytes]] as const) {
      if (value === undefined) return error(400, 400, `Missing mandatory parameter '${name}'`)
    }
    const topic = decodeURIComponent(match[1]!)
    const outcome = await backend.fetch(topic, partition, offset!, timeout!, maxBytes!)
    if (outcome === 'unknown-partition') return error(404, 40402, 'unknown_topic_or_partition')
    if (outcome === 'out-of-range') return error(400, 40002, 'offset_out_of_range')
    const encode = format === 'binary' ? (b: Buffer | null) => b?.toString('base64') ?? null : (b: Buffer | null) => (b === null ? null : JSON.parse(b.toString('utf8')))
    try {
      const body = outcome.records.map((r) => ({ topic, key: encode(r.key), value: encode(r.value), partition, offset: r.offset }))
      return { status: 200, body, contentType: format === 'binary' ? BINARY : JSON_EMBEDDED }
    } catch {
      return error(500, 50002, 'Unable to serialize value')
    }
  }), options.port)
}

function error(status: number, code: number, message: string): JsonReply {
  return { status, body: { error_code: code, message }, contentType: 'application/vnd.kafka.v2+json' }
}

function wholeNumber(text: string | null | undefined): number | undefined {
  return text != null && /^\d+$/.test(text) ? Number(text) : undefined
}
