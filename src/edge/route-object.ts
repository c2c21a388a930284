/**
 * Durable Object fan-out on Workers: one object per route (provider + resolved subjects) reads
 * the broker for every Worker stream of that route, so N viewers of one subject cost one broker
 * connection and, at the head of the log, one consumer instead of N.
 *
 * Inside the object the route is served as the Node entry serves it: one NATS connection, and
 * LiveFanout, which gives streams at the head one shared reader, lets a stream that starts behind
 * read on its own (in the object, on the same connection) until it has caught up and then join,
 * and moves a stream that lets its backlog grow past its limit to a reader of its own, so it never
 * holds up the others.
 *
 * A Worker stream attaches with one request to the object (`RouteObjectProvider`): the object's
 * streaming response carries the stream's provider batches as NDJSON lines, which the Worker
 * renders as before. Backpressure runs end to end: the Worker reads the next line only once its
 * client took the last frames, and the object writes the next line only once the last was read.
 * Ids stay broker cursors (the items' positions), so the object holds nothing a resume needs:
 * evicted, restarted or unreachable, its response breaks, the Worker stream fails with
 * UPSTREAM_UNAVAILABLE (a jittered retry, no `complete`), and the client resumes from its last id
 * through a new instance. The object's read lives only while a stream is attached (each attached
 * stream is an open request that keeps the object in memory); with the last one gone it stops.
 */
import { StreamError, type ErrorCode } from '../errors'
import type { Provider, ProviderItem, ResolvedRoute, StartPosition } from '../providers/provider'

/** What a Worker stream sends to attach. */
interface AttachRequest {
  route: ResolvedRoute
  start: StartPosition
}

/** The last line of a response that ended from the object's side; a broken response has none. */
type EndLine = { end: true } | { error: { code: ErrorCode; message: string; permanent: boolean } | null }

/** Requests an attachment from the object of the route named `key`; `release` frees its connection once the stream is done with it. */
export type AttachToObject = (key: string, body: string, signal: AbortSignal) => Promise<{ response: Response; release: () => void }>

/** Names a route's object: every stream of the same provider and resolved names reaches the same one. */
export const routeObjectName = (route: ResolvedRoute): string =>
  JSON.stringify([route.kind, route.providerId, route.streamName ?? '', ...route.names])

/** The Worker side: each stream's batches come from the route's object. */
export class RouteObjectProvider implements Provider {
  constructor(
    private readonly inner: Provider,
    private readonly attach: AttachToObject,
  ) {}

  isValidPosition(position: string, route: ResolvedRoute): boolean {
    return this.inner.isValidPosition(position, route)
  }

  async *open(route: ResolvedRoute, start: StartPosition, signal: AbortSignal): AsyncIterable<ProviderItem[]> {
    if (signal.aborted) return
    const body: AttachRequest = { route, start }
    const { response, release } = await this.attach(routeObjectName(route), JSON.stringify(body), signal)
    if (response.status !== 200 || response.body === null) {
      release()
      throw new Error(`the route object answered ${response.status}`)
    }
    // The body is read and decoded here, without a decoding stream piped in front: with a thousand
    // streams of a route each event is a thousand reads, and every stream between costs each of them.
    const reader = response.body.getReader()
    const decoder = new TextDecoder()
    const cancel = () => void reader.cancel().catch(() => {})
    signal.addEventListener('abort', cancel, { once: true })
    let buffered = ''
    try {
      while (!signal.aborted) {
        const { done, value } = await reader.read()
        if (done) throw new Error('the route object went away')
        buffered += decoder.decode(value, { stream: true })
        const end = buffered.lastIndexOf('\n')
        if (end === -1) continue
        const lines = buffered.slice(0, end).split('\n')
        buffered = buffered.slice(end + 1)
        const items: ProviderItem[] = []
        for (const line of lines) {
          if (line === '') continue
          if (line.startsWith('[')) {
            for (const item of JSON.parse(line) as ProviderItem[]) items.push(item)
            continue
          }
          if (items.length > 0) yield items.splice(0)
          const last = JSON.parse(line) as EndLine
          if ('end' in last) return
          if (last.error) throw new StreamError(last.error.code, last.error.message, last.error.permanent)
          throw new Error('the route object lost its broker reader')
        }
        if (items.length > 0) yield items
      }
    } finally {
      signal.removeEventListener('abort', cancel)
      cancel()
      release()
    }
  }
}

const encoder = new TextEncoder()
const emptyLine = encoder.encode('\n')
/** Bytes of lines an attachment may have queued for its Worker before the object waits for it to read. */
const ATTACHMENT_HIGH_WATER_BYTES = 64 * 1024

/**
 * The object's side of one attachment: runs the stream on the object's provider (its LiveFanout)
 * and queues each batch as a line while the Worker keeps up, waiting only once the queue is full.
 * With a thousand streams attached each event is a thousand lines: a line is queued straight on
 * the response's own stream, without a write promise to await or a second queue between.
 */
export function serveAttachment(
  providerOf: (route: ResolvedRoute) => Provider | undefined,
  request: AttachRequest,
  workerGone: AbortSignal,
  keepaliveMs: number,
): Response {
  const provider = providerOf(request.route)
  if (provider === undefined) return new Response('no such provider', { status: 404 })
  const stop = new AbortController()
  let output: ReadableStreamDefaultController<Uint8Array> | undefined
  /** Resolves the line writer waiting for room, once the Worker read (or went away). */
  let room: (() => void) | undefined
  const wake = () => {
    const waiting = room
    room = undefined
    waiting?.()
  }
  const readable = new ReadableStream<Uint8Array>(
    {
      start(controller) {
        output = controller
      },
      pull: wake,
      // The Worker stream went away (its client left, or it was cut): the reader is released.
      cancel() {
        stop.abort()
      },
    },
    { highWaterMark: ATTACHMENT_HIGH_WATER_BYTES, size: (chunk) => chunk.byteLength },
  )
  const write = (bytes: Uint8Array): boolean => {
    if (stop.signal.aborted || output === undefined) return false
    try {
      output.enqueue(bytes)
      return true
    } catch {
      stop.abort() // cancelled between our check and the enqueue
      return false
    }
  }
  stop.signal.addEventListener('abort', wake, { once: true })
  workerGone.addEventListener('abort', () => stop.abort(), { once: true })
  // A cancelled response is noticed at the next write, so an idle one gets an empty line now and then.
  const keepalive = setInterval(() => {
    if ((output?.desiredSize ?? 0) > 0) write(emptyLine)
  }, keepaliveMs)
  stop.signal.addEventListener('abort', () => clearInterval(keepalive), { once: true })
  void (async () => {
    let last: EndLine = { end: true }
    try {
      for await (const batch of provider.open(request.route, request.start, stop.signal)) {
        if (!write(batchLine(batch))) break
        // Backpressure: the next batch is taken from the provider only once the Worker made room.
        if ((output?.desiredSize ?? 0) <= 0 && !stop.signal.aborted) await new Promise<void>((resolve) => (room = resolve))
      }
    } catch (error) {
      if (stop.signal.aborted) return
      last = { error: error instanceof StreamError ? { code: error.code, message: error.message, permanent: error.permanent } : null }
    }
    if (stop.signal.aborted) return
    clearInterval(keepalive)
    if (write(encoder.encode(`${JSON.stringify(last)}\n`))) output?.close()
  })()
  return new Response(readable, { headers: { 'Content-Type': 'application/x-ndjson' } })
}

/**
 * Each item is serialized once, however many streams it goes to (the hub hands every stream the
 * same objects); a batch of one item, the usual one at the head, is its line's bytes, encoded once
 * and queued as they are on every stream.
 */
const itemJson = new WeakMap<ProviderItem, string>()
const singleItemLine = new WeakMap<ProviderItem, Uint8Array>()

function batchLine(batch: readonly ProviderItem[]): Uint8Array {
  const only = batch.length === 1 ? batch[0] : undefined
  const cached = only && singleItemLine.get(only)
  if (cached) return cached
  let line = '['
  for (let i = 0; i < batch.length; i++) {
    const item = batch[i] as ProviderItem
    let json = itemJson.get(item)
    if (json === undefined) {
      json = JSON.stringify(item)
      itemJson.set(item, json)
    }
    line += i === 0 ? json : `,${json}`
  }
  const bytes = encoder.encode(`${line}]\n`)
  if (only) singleItemLine.set(only, bytes)
  return bytes
}

export function readAttachRequest(value: unknown): AttachRequest | undefined {
  if (typeof value !== 'object' || value === null || !('route' in value) || !('start' in value)) return undefined
  return value as AttachRequest
}
