/**
 * Event streams written straight to Node's socket. Through a web ReadableStream, every frame of
 * every stream went through the stream's queue, a read promise and the adapter's read loop
 * before its socket write; through ServerResponse.write, each write still went through four
 * buffered chunk parts (size, CRLF, data, CRLF), a cork until the next tick and a gathered write.
 * Here, once the response's head has left with the opening frame, a batch of frames is one
 * socket write of one buffer that already carries its chunked-encoding framing. Backpressure
 * is the socket's: the producer waits while it holds HIGH_WATER_BYTES or more.
 *
 * Streams of one route at the live end write the same frames at once: the chunk of the last
 * frames written is kept, so a frame is encoded and framed once and the same buffer goes to
 * every socket.
 */
import { ServerResponse } from 'node:http'
import type { Socket } from 'node:net'
import type { Http2Bindings, HttpBindings } from '@hono/node-server'
import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response'
import { createEventStream, HIGH_WATER_BYTES, startEventStream, type EventStreamOptions, type FrameOutput } from './event-stream'
import { SSE_HEADERS } from './frames'

type NodeBindings = HttpBindings | Http2Bindings
type Fetch = (request: Request, env: NodeBindings) => Response | Promise<Response>

export interface NodeEventStreams {
  /** The Platform's `eventStreamResponse`: the stream is held until its response leaves the app. */
  eventStreamResponse(request: Request, stream: EventStreamOptions): Response
  /** The app's fetch for @hono/node-server's `serve`, writing accepted streams to their response's socket. */
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
      // An HTTP/2 response (not served by default) keeps the web stream, and hears the client go from the request.
      if (!(env.outgoing instanceof ServerResponse)) return new Response(createEventStream({ ...stream, clientSignal: request.signal }), response)
      writeEventStream(env.outgoing, response.status, response.headers, stream)
      return RESPONSE_ALREADY_SENT
    },
  }
}

let lastText = ''
let lastChunk = Buffer.alloc(0)

/** `text` (never empty: an empty chunk ends the body) as one HTTP/1.1 chunk: its size in hex, CRLF, its bytes, CRLF. */
function chunkOf(text: string): Buffer {
  if (text !== lastText) {
    const length = Buffer.byteLength(text)
    const size = `${length.toString(16)}\r\n`
    const chunk = Buffer.allocUnsafe(size.length + length + 2)
    chunk.write(size, 0, 'latin1')
    chunk.write(text, size.length, 'utf8')
    chunk.write('\r\n', size.length + length, 'latin1')
    lastText = text
    lastChunk = chunk
  }
  return lastChunk
}

/** Sends the head (`status`, `headers`) and then the stream's frames until it ends or the client goes. */
function writeEventStream(res: ServerResponse, status: number, headers: Headers, options: EventStreamOptions): void {
  res.writeHead(status, Object.fromEntries(headers))
  // The response keeps its head for its whole life as Node built it, a rope of some twenty
  // strings, one per part of each header line; reading a character makes V8 flatten it into one
  // string (0.6 KiB less for each open stream).
  ;(res as unknown as { _header: string })._header.charCodeAt(0)
  const output = new ResponseOutput(res)
  const control = startEventStream(options, output)
  // A client that left while the app served the request is gone already.
  if (res.destroyed) return control.finish('client-gone')
  const drained = output.socket ?? res
  drained.on('drain', control.wake)
  res.on('close', () => {
    // A kept-alive socket serves the next request: the stream lets go of it.
    drained.off('drain', control.wake)
    control.finish('client-gone')
  })
}

/** A stream's frames on its response: a class, so that an open stream holds no closure for each method. */
class ResponseOutput implements FrameOutput {
  /**
   * Frames go to the socket when the response has it (not while it waits behind another response
   * of a pipelined connection) and its body is chunked (not to an HTTP/1.0 client); otherwise
   * every frame goes through the response.
   */
  readonly socket: Socket | undefined
  private headSent = false

  constructor(private readonly res: ServerResponse) {
    this.socket = res.socket !== null && res.chunkedEncoding ? res.socket : undefined
  }

  write(text: string): void {
    // The first write sends the head with it; later ones follow it in the socket's order.
    if (this.socket !== undefined && this.headSent) {
      // Not once it is destroyed or ended (a client gone); read from its writable side alone.
      if (this.socket.writable) this.socket.write(chunkOf(text))
      return
    }
    this.headSent = true
    if (!this.res.destroyed) this.res.write(text)
  }

  /**
   * Counts what the socket holds, the response's writes and the direct ones alike: once the head
   * went straight to the socket with the first frame, the response holds nothing of its own.
   */
  hasRoom(): boolean {
    const holder = this.socket !== undefined && this.headSent ? this.socket : this.res
    return holder.writableLength < HIGH_WATER_BYTES
  }

  close(): void {
    this.res.end()
  }
}
