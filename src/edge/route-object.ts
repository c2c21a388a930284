/**
 * Durable Object fan-out on Workers: one object per route (provider + resolved subjects) runs
 * every Worker stream of that route, so N viewers of one subject cost one broker connection and,
 * at the head of the log, one consumer instead of N, and each event is rendered once per query,
 * not once per stream.
 *
 * The Worker accepts a stream as before (CORS, size limits, authentication, the query, the route,
 * the cursor: every refusal is answered there, before any I/O), then hands it to the route's object
 * with one request (`streamThroughObject`): the original URL and headers, and the GraphQL parameters
 * it read. The object runs the same app on it, built from the same environment, as the Node entry
 * runs it: one NATS connection, LiveFanout giving streams at the head one shared reader (a stream
 * that starts behind reads on its own until it has caught up and then joins; one whose client
 * lets its backlog grow past its limit detaches to a reader of its own), and the relay rendering
 * each event's frame once for every stream of the same query. The object's response is the
 * stream's SSE body, which the Worker hands to the client unread (workerd pipes it natively: a
 * delivery costs the Worker no JavaScript).
 *
 * Ids stay broker cursors, so the object holds nothing a resume needs. Evicted, restarted or reset,
 * its response breaks, and the client's response ends as a cut connection would: no error frame,
 * no `complete`. The break may fall inside a frame, which the Worker cannot see without reading
 * every chunk; EventSource drops a frame that never reached its blank line, so its last id is that
 * of the last whole frame, and it reconnects after the stream's `retry` (jittered in the opening
 * frame, so the clients of one object come back spread out) and resumes from there
 * through a new instance. An object that cannot be reached gets UPSTREAM_UNAVAILABLE from the
 * Worker (a jittered retry). The object's read lives only while a stream is attached (each is an
 * open request that keeps the object in memory).
 */
import type { AcceptedStream } from '../app'
import type { ResolvedRoute } from '../providers/provider'
import { createEventStream, type EventStreamOptions } from '../sse/event-stream'
import { upstreamUnavailableFrame } from '../relay/relay'
import { jitteredRetryMs, openingFrame, SSE_HEADERS } from '../sse/frames'

/** Opens a stream on the object of the route named `name`; `release` frees its connection once the Worker has read a refusal. */
export type AttachToObject = (name: string, request: Request) => Promise<{ response: Response; release: () => void }>

/** Names a route's object: every stream of the same provider and resolved names reaches the same one. */
export const routeObjectName = (route: ResolvedRoute): string =>
  JSON.stringify([route.kind, route.providerId, route.streamName ?? '', ...route.names])

const encoder = new TextEncoder()

/**
 * The Worker side: runs an accepted stream on its route's object and forwards the object's answer:
 * a refusal as it is (the object's MAX_STREAMS, say), a stream's body byte for byte. An object that
 * cannot be reached gets the stream's opening frame and UPSTREAM_UNAVAILABLE from the Worker.
 */
export async function streamThroughObject(attach: AttachToObject, { request, params, route }: AcceptedStream, retryMs: number): Promise<Response> {
  const headers = new Headers(request.headers)
  // The object answers the Worker, not the browser: the Worker's CORS headers are the ones that count.
  headers.delete('Origin')
  headers.delete('Content-Length')
  const forwarded = new Request(request.url, {
    method: request.method,
    headers,
    ...(request.method === 'POST' ? { body: JSON.stringify(params) } : {}),
    signal: request.signal,
  })
  let attached: Awaited<ReturnType<AttachToObject>>
  try {
    attached = await attach(routeObjectName(route), forwarded)
  } catch {
    return new Response(openingFrame(retryMs) + upstreamUnavailableFrame(retryMs), { headers: SSE_HEADERS })
  }
  const { response, release } = attached
  if (response.status !== 200 || response.body === null) {
    const body = await response.text().finally(release)
    const answer = new Headers(response.headers)
    for (const name of [...answer.keys()]) if (name.startsWith('access-control-') || name === 'vary') answer.delete(name)
    return new Response(body, { status: response.status, headers: answer })
  }
  // The stream's body goes to the client unread: workerd pipes it without running JavaScript per
  // chunk. Its connection stays held until the invocation ends (the stream is all it does).
  return new Response(response.body, { headers: SSE_HEADERS })
}

/**
 * The object side: a stream's response (the app's `eventStreamResponse`), its frames queued on
 * the response's own stream up to HIGH_WATER_BYTES before the relay waits. The streams of a route at the head write the same
 * frame one after another: its bytes are encoded once. The opening frame's `retry` is jittered:
 * an object that breaks cuts all its streams at once, and the Worker, which does not read their
 * bytes, can append no jittered error frame then, so the clients' delay is the one they opened with.
 */
export function objectEventStream(request: Request, options: EventStreamOptions): Response {
  // The Worker stream went away (its client left, or it was cut): the stream's reader is released.
  const body = createEventStream({ ...options, retryMs: jitteredRetryMs(options.retryMs), clientSignal: request.signal }, encoded)
  return new Response(body, { headers: SSE_HEADERS })
}

let lastText = ''
let lastBytes = encoder.encode('')

function encoded(text: string): Uint8Array {
  if (text !== lastText) {
    lastText = text
    lastBytes = encoder.encode(text)
  }
  return lastBytes
}
