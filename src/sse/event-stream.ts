/**
 * A byte stream of SSE frames with backpressure, heartbeats and a maximum lifetime.
 *
 * `run` writes frames through the sink and awaits `sink.ready()` after each batch,
 * so a client that stops reading stops the producer (nothing is buffered beyond the
 * high-water mark). The returned signal aborts when the client goes away, when the
 * maximum duration is reached, or when `run` ends: providers release their broker
 * resources on it.
 */
import { openingFrame, pingFrame } from './frames'

export interface FrameSink {
  write(text: string): void
  /** Resolves when the client has room for more; also resolves once the stream is closed. */
  ready(): Promise<void>
  readonly signal: AbortSignal
}

export interface EventStreamOptions {
  retryMs: number
  heartbeatMs: number
  maxStreamMs: number
  /** Aborts when the client disconnects (request.signal where the runtime provides it). */
  clientSignal?: AbortSignal
  /** Writes frames until done; throwing is the caller's bug: handle errors inside. */
  run(sink: FrameSink): Promise<void>
  onClose?(reason: CloseReason): void
}

export type CloseReason = 'client-gone' | 'max-duration' | 'ended'

const HIGH_WATER_BYTES = 64 * 1024
/**
 * At the maximum duration the events stop at once, but the response ends only after this
 * quiet time: graphql-sse's client (2.6, distinct connections) stops for good, without an
 * error or a reconnect, when the end of a response reaches it in the same read as an event.
 */
export const QUIET_BEFORE_CUT_MS = 250
const encoder = new TextEncoder()

export function createEventStream(options: EventStreamOptions): ReadableStream<Uint8Array> {
  const lifetime = new AbortController()
  let controller!: ReadableStreamDefaultController<Uint8Array>
  let wakeWriter: (() => void) | undefined
  let closeReason: CloseReason | undefined
  const timers: ReturnType<typeof setTimeout>[] = []

  const finish = (reason: CloseReason) => {
    if (closeReason) return
    closeReason = reason
    for (const timer of timers) clearTimeout(timer)
    lifetime.abort()
    wakeWriter?.()
    const close = () => {
      try {
        controller.close()
      } catch {
        // already closed or errored by the runtime
      }
    }
    if (reason === 'max-duration') setTimeout(close, QUIET_BEFORE_CUT_MS)
    else if (reason !== 'client-gone') close()
    options.onClose?.(reason)
  }

  const sink: FrameSink = {
    signal: lifetime.signal,
    write(text) {
      if (!closeReason && text) controller.enqueue(encoder.encode(text))
    },
    ready() {
      if (closeReason || (controller.desiredSize ?? 0) > 0) return Promise.resolve()
      return new Promise((resolve) => {
        wakeWriter = () => {
          wakeWriter = undefined
          resolve()
        }
      })
    },
  }

  return new ReadableStream<Uint8Array>(
    {
      start(c) {
        controller = c
        // Headers and the first bytes leave before any broker I/O.
        sink.write(openingFrame(options.retryMs))
        timers.push(setInterval(() => sink.write(pingFrame), options.heartbeatMs))
        timers.push(setTimeout(() => finish('max-duration'), options.maxStreamMs))
        const clientSignal = options.clientSignal
        if (clientSignal?.aborted) finish('client-gone')
        clientSignal?.addEventListener('abort', () => finish('client-gone'), { once: true })
        void options.run(sink).finally(() => finish('ended'))
      },
      pull() {
        wakeWriter?.()
      },
      cancel() {
        finish('client-gone')
      },
    },
    { highWaterMark: HIGH_WATER_BYTES, size: (chunk) => chunk.byteLength },
  )
}
