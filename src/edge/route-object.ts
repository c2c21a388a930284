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
 * stream's SSE body, which the Worker forwards as it comes, whole frames only.
 *
 * Ids stay broker cursors, so the object holds nothing a resume needs: evicted, restarted or
 * unreachable, its response breaks and the Worker ends the stream itself with UPSTREAM_UNAVAILABLE
 * (a jittered retry, no `complete`); the client resumes from its last id through a new instance. A
 * stream the object ends (its error or `complete`, `MAX_STREAM_SECONDS`, its event budget) ends with
 * END_OF_STREAM, which the Worker drops: a body that ends without it was broken. The object's read
 * lives only while a stream is attached (each is an open request that keeps the object in memory).
 */
import { errorBody } from '../errors'
import type { AcceptedStream } from '../app'
import type { ResolvedRoute } from '../providers/provider'
import { startEventStream, HIGH_WATER_BYTES, type EventStreamControl, type EventStreamOptions } from '../sse/event-stream'
import { errorFrame, jitteredRetryMs, openingFrame, SSE_HEADERS } from '../sse/frames'

/** Opens a stream on the object of the route named `name`; `release` frees its connection once the Worker is done with the response. */
export type AttachToObject = (name: string, request: Request) => Promise<{ response: Response; release: () => void }>

/** Names a route's object: every stream of the same provider and resolved names reaches the same one. */
export const routeObjectName = (route: ResolvedRoute): string =>
  JSON.stringify([route.kind, route.providerId, route.streamName ?? '', ...route.names])

const encoder = new TextEncoder()
/** A comment frame the object writes last on a stream it ended; the Worker drops it. */
const END_OF_STREAM = encoder.encode(': end\n\n')
const LF = 10

/**
 * The Worker side: runs an accepted stream on its route's object and forwards the object's answer:
 * a refusal as it is (the object's MAX_STREAMS, say), a stream's frames as they come.
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
    return new Response(openingFrame(retryMs) + unavailableFrame(retryMs), { headers: SSE_HEADERS })
  }
  const { response, release } = attached
  if (response.status !== 200 || response.body === null) {
    const body = await response.text().finally(release)
    const answer = new Headers(response.headers)
    for (const name of [...answer.keys()]) if (name.startsWith('access-control-') || name === 'vary') answer.delete(name)
    return new Response(body, { status: response.status, headers: answer })
  }
  return new Response(forwardedFrames(response.body, release, retryMs), { headers: SSE_HEADERS })
}

const unavailableFrame = (retryMs: number): string =>
  errorFrame(JSON.stringify(errorBody('UPSTREAM_UNAVAILABLE', 'The event broker is unavailable; retrying.')), jitteredRetryMs(retryMs))

/**
 * The object's SSE body as whole frames: a frame split between two reads is held back until its
 * end arrives, so that a body that breaks can be followed by an error frame the client reads as one.
 * The usual read ends with its last frame: the last two bytes say so, and it goes on as it came.
 */
function forwardedFrames(body: ReadableStream<Uint8Array>, release: () => void, retryMs: number): ReadableStream<Uint8Array> {
  const reader = body.getReader()
  /** Bytes after the last whole frame received. */
  let partial: Uint8Array | undefined
  let endedByObject = false
  const finish = (controller: ReadableStreamDefaultController<Uint8Array>, broken: boolean) => {
    release()
    if (broken) controller.enqueue(encoder.encode(unavailableFrame(retryMs)))
    controller.close()
  }
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      for (;;) {
        let read: ReadableStreamReadResult<Uint8Array>
        try {
          read = await reader.read()
        } catch {
          finish(controller, true)
          return
        }
        if (read.done) {
          finish(controller, !endedByObject)
          return
        }
        let bytes = read.value
        if (partial !== undefined) {
          const joined = new Uint8Array(partial.byteLength + bytes.byteLength)
          joined.set(partial)
          joined.set(bytes, partial.byteLength)
          bytes = joined
          partial = undefined
        }
        let whole = wholeFramesEnd(bytes)
        if (whole < bytes.byteLength) partial = bytes.slice(whole)
        if (endsWithEndOfStream(bytes, whole)) {
          endedByObject = true
          whole -= END_OF_STREAM.byteLength
        }
        if (whole > 0) {
          controller.enqueue(whole === bytes.byteLength ? bytes : bytes.subarray(0, whole))
          return
        }
      }
    },
    cancel(reason) {
      release()
      return reader.cancel(reason)
    },
  })
}

/** Where the last whole frame of `bytes` ends (0: none does). */
function wholeFramesEnd(bytes: Uint8Array): number {
  const length = bytes.byteLength
  if (length >= 2 && bytes[length - 1] === LF && bytes[length - 2] === LF) return length
  for (let i = length - 1; i > 0; i--) if (bytes[i] === LF && bytes[i - 1] === LF) return i + 1
  return 0
}

/** Whether the whole frames of `bytes`, up to `end`, finish with END_OF_STREAM (the frames start at 0). */
function endsWithEndOfStream(bytes: Uint8Array, end: number): boolean {
  const start = end - END_OF_STREAM.byteLength
  if (start < 0 || (start > 0 && (bytes[start - 1] !== LF || bytes[start - 2] !== LF))) return false
  for (let i = 0; i < END_OF_STREAM.byteLength; i++) if (bytes[start + i] !== END_OF_STREAM[i]) return false
  return true
}

/**
 * The object side: a stream's response (the app's `eventStreamResponse`), its frames queued on
 * the response's own stream up to HIGH_WATER_BYTES before the relay waits, ended with
 * END_OF_STREAM when the stream ends from here. The streams of a route at the head write the same
 * frame one after another: its bytes are encoded once.
 */
export function objectEventStream(request: Request, options: EventStreamOptions): Response {
  let control: EventStreamControl | undefined
  // workerd calls pull() from inside start(), at the opening frame's enqueue: before `control` is set.
  const body = new ReadableStream<Uint8Array>(
    {
      start(controller) {
        control = startEventStream(options, {
          write: (text) => controller.enqueue(encoded(text)),
          hasRoom: () => (controller.desiredSize ?? 0) > 0,
          close() {
            try {
              controller.enqueue(END_OF_STREAM)
              controller.close()
            } catch {
              // cancelled by the Worker meanwhile
            }
          },
        })
      },
      pull() {
        control?.wake()
      },
      cancel() {
        control?.finish('client-gone')
      },
    },
    { highWaterMark: HIGH_WATER_BYTES, size: (chunk) => chunk.byteLength },
  )
  // The Worker stream went away (its client left, or it was cut): the stream's reader is released.
  request.signal.addEventListener('abort', () => control?.finish('client-gone'), { once: true })
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
