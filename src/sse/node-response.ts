/**
 * Event streams written straight to Node's ServerResponse. Through a web ReadableStream, every
 * frame of every stream went through the stream's queue, a read promise and the adapter's read
 * loop before its socket write; here a frame is one `write` call. Backpressure is the response's
 * own: the producer waits while the response holds HIGH_WATER_BYTES or more.
 *
 * Streams of one route at the live end write the same frames at once: the bytes of the last
 * frames written are kept, so a frame is encoded once and the same buffer goes to every socket.
 */
import { ServerResponse } from 'node:http'
import type { Http2Bindings, HttpBindings } from '@hono/node-server'
import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response'
import { createEventStream, HIGH_WATER_BYTES, startEventStream, type EventStreamOptions } from './event-stream'
import { SSE_HEADERS } from './frames'

type NodeBindings = HttpBindings | Http2Bindings
type Fetch = (request: Request, env: NodeBindings) => Response | Promise<Response>

export interface NodeEventStreams {
  /** The Platform's `eventStreamResponse`: the stream is held until its response leaves the app. */
  eventStreamResponse(request: Request, stream: EventStreamOptions): Response
  /** The app's fetch for @hono/node-server's `serve`, writing accepted streams to their ServerResponse. */
  fetch(appFetch: Fetch): Fetch
}

export function nodeEventStreams(): NodeEventStreams {
  // By request, until the response leaves the app with every middleware's headers.
  const accepted = new WeakMap<Request, EventStreamOptions>()
  return {
    eventStreamResponse(request, stream) {
      accepted.set(request, stream)
      return new Response(null, { headers: SSE_HEADERS })
    },
    fetch: (appFetch) => async (request, env) => {
      const response = await appFetch(request, env)
      const stream = accepted.get(request)
      if (stream === undefined) return response
      accepted.delete(request)
      if (response.status !== 200) {
        // A failure after the handler replaced the stream's response: the stream ends unopened.
        startEventStream({ ...stream, clientSignal: AbortSignal.abort() }, { write() {}, hasRoom: () => true, close() {} })
        return response
      }
      // An HTTP/2 response (not served by default) keeps the web stream.
      if (!(env.outgoing instanceof ServerResponse)) return new Response(createEventStream(stream), response)
      writeEventStream(env.outgoing, response.status, response.headers, stream)
      return RESPONSE_ALREADY_SENT
    },
  }
}

let lastText = ''
let lastBytes = Buffer.alloc(0)

function bytesOf(text: string): Buffer {
  if (text !== lastText) {
    lastText = text
    lastBytes = Buffer.from(text)
  }
  return lastBytes
}

/** Sends the head (`status`, `headers`) and then the stream's frames until it ends or the client goes. */
function writeEventStream(res: ServerResponse, status: number, headers: Headers, options: EventStreamOptions): void {
  res.writeHead(status, Object.fromEntries(headers))
  const control = startEventStream(options, {
    write(text) {
      if (!res.destroyed) res.write(bytesOf(text))
    },
    hasRoom: () => res.writableLength < HIGH_WATER_BYTES,
    close: () => res.end(),
  })
  res.on('drain', control.wake)
  res.once('close', () => control.finish('client-gone'))
}
