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

/** Requests an attachment from the object of the route named `key`. */
export type AttachToObject = (key: string, body: string, signal: AbortSignal) => Promise<Response>

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
    const response = await this.attach(routeObjectName(route), JSON.stringify(body), signal)
    if (response.status !== 200 || response.body === null) throw new Error(`the route object answered ${response.status}`)
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader()
    const cancel = () => void reader.cancel().catch(() => {})
    signal.addEventListener('abort', cancel, { once: true })
    let buffered = ''
    try {
      while (!signal.aborted) {
        const { done, value } = await reader.read()
        if (done) throw new Error('the route object went away')
        buffered += value
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
    }
  }
}

const encoder = new TextEncoder()
const emptyLine = encoder.encode('\n')

/**
 * The object's side of one attachment: runs the stream on the object's provider (its LiveFanout)
 * and writes each batch as a line as soon as the Worker has read the previous one.
 */
export function serveAttachment(
  providerOf: (route: ResolvedRoute) => Provider | undefined,
  request: AttachRequest,
  workerGone: AbortSignal,
  keepaliveMs: number,
): Response {
  const provider = providerOf(request.route)
  if (provider === undefined) return new Response('no such provider', { status: 404 })
  const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>()
  const writer = writable.getWriter()
  const stop = new AbortController()
  // The Worker stream went away (its client left, or it was cut): the reader is released. A
  // cancelled response is noticed at the next write, so an idle one gets an empty line now and then.
  writer.closed.catch(() => stop.abort())
  workerGone.addEventListener('abort', () => stop.abort(), { once: true })
  const keepalive = setInterval(() => {
    if (writer.desiredSize !== null && writer.desiredSize > 0) writer.write(emptyLine).catch(() => stop.abort())
  }, keepaliveMs)
  stop.signal.addEventListener('abort', () => clearInterval(keepalive), { once: true })
  void (async () => {
    let last: EndLine = { end: true }
    try {
      for await (const batch of provider.open(request.route, request.start, stop.signal)) {
        await writer.write(encoder.encode(batchLine(batch)))
      }
    } catch (error) {
      if (stop.signal.aborted) return
      last = { error: error instanceof StreamError ? { code: error.code, message: error.message, permanent: error.permanent } : null }
    }
    if (stop.signal.aborted) return
    clearInterval(keepalive)
    try {
      await writer.write(encoder.encode(`${JSON.stringify(last)}\n`))
      await writer.close()
    } catch {
      // the Worker stream is gone already
    }
  })()
  return new Response(readable, { headers: { 'Content-Type': 'application/x-ndjson' } })
}

/** Each item is serialized once, however many streams it goes to (the hub hands every stream the same objects). */
const itemJson = new WeakMap<ProviderItem, string>()

function batchLine(batch: readonly ProviderItem[]): string {
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
  return `${line}]\n`
}

export function readAttachRequest(value: unknown): AttachRequest | undefined {
  if (typeof value !== 'object' || value === null || !('route' in value) || !('start' in value)) return undefined
  return value as AttachRequest
}
