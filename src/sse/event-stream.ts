/**
 * A stream of SSE frames with backpressure, heartbeats and a maximum lifetime, written to an
 * output: a web ReadableStream (`createEventStream`, every runtime) or, on Node, the
 * response's socket itself (node-response.ts), without a web stream between.
 *
 * `run` writes frames through the sink and awaits `sink.ready()` after each batch,
 * so a client that stops reading stops the producer (nothing is buffered beyond the
 * high-water mark). The sink's signal aborts when the client goes away, when the
 * maximum duration is reached, or when `run` ends: providers release their broker
 * resources on it.
 */
import { openingFrame, pingFrame } from './frames'

export interface FrameSink {
  write(text: string): void
  /** Resolves when the client has room for more; also resolves once the stream is closed. */
  ready(): Promise<void>
  /** Whether `ready()` would resolve at once, without a promise to wait for. */
  hasRoom(): boolean
  readonly signal: AbortSignal
  /** Whether `signal` has aborted: a plain read, where the signal's getter checks its receiver on every call. */
  readonly closed: boolean
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

/** Where the frames go. */
export interface FrameOutput {
  write(text: string): void
  /** Below the high-water mark: the producer may go on. */
  hasRoom(): boolean
  /** Ends the response (not called when the client went away). */
  close(): void
}

/** Bytes a stream may have queued for its client before its producer waits. */
export const HIGH_WATER_BYTES = 64 * 1024
/**
 * At the maximum duration the events stop at once, but the response ends only after this
 * quiet time: graphql-sse's client (2.6, distinct connections) stops for good, without an
 * error or a reconnect, when the end of a response reaches it in the same read as an event.
 */
export const QUIET_BEFORE_CUT_MS = 250
const encoder = new TextEncoder()

/** The life of one stream, on any output. */
export interface EventStreamControl {
  /** The output has room again (or is gone): the producer waiting in `ready()` goes on. */
  readonly wake: () => void
  finish(reason: CloseReason): void
}

/** Writes the opening frame, starts the timers and `run`; the output's owner reports room and the client's departure. */
export function startEventStream(options: EventStreamOptions, output: FrameOutput): EventStreamControl {
  const stream = new EventStream(options, output)
  // Headers and the first bytes leave before any broker I/O.
  stream.write(openingFrame(options.retryMs))
  const clientSignal = options.clientSignal
  if (clientSignal?.aborted) stream.finish('client-gone')
  clientSignal?.addEventListener('abort', () => stream.finish('client-gone'), { once: true })
  void options.run(stream).finally(() => stream.finish('ended'))
  return stream
}

/**
 * One stream, as its producer's sink and its output owner's control. A class, not closures: an
 * open stream holds its fields and no function of its own but `wake`, which its output's owner
 * passes on as a listener; the timers get the stream as their argument.
 */
class EventStream implements FrameSink, EventStreamControl {
  private readonly lifetime = new AbortController()
  /** The lifetime's signal, kept: the relay passes it on with every batch. */
  readonly signal = this.lifetime.signal
  private wakeWriter: (() => void) | undefined = undefined
  private closeReason: CloseReason | undefined = undefined
  private readonly heartbeat: ReturnType<typeof setInterval>
  private readonly deadline: ReturnType<typeof setTimeout>
  readonly wake: () => void

  constructor(
    private readonly options: EventStreamOptions,
    private readonly output: FrameOutput,
  ) {
    this.heartbeat = setInterval(ping, options.heartbeatMs, this)
    this.deadline = setTimeout(finishAtDeadline, options.maxStreamMs, this)
    // Assigned here, not as a field: the Node entry's esbuild transform (keepNames) gives a
    // field's arrow function a `name` property of its own, a quarter of a KiB per stream.
    this.wake = () => {
      const waiting = this.wakeWriter
      this.wakeWriter = undefined
      waiting?.()
    }
  }

  finish(reason: CloseReason): void {
    if (this.closeReason) return
    this.closeReason = reason
    clearInterval(this.heartbeat)
    clearTimeout(this.deadline)
    this.lifetime.abort()
    this.wake()
    const output = this.output
    if (reason === 'max-duration') setTimeout(() => output.close(), QUIET_BEFORE_CUT_MS)
    else if (reason !== 'client-gone') output.close()
    this.options.onClose?.(reason)
  }

  get closed(): boolean {
    return this.closeReason !== undefined
  }

  write(text: string): void {
    if (!this.closeReason && text) this.output.write(text)
  }

  ready(): Promise<void> {
    if (this.closeReason || this.output.hasRoom()) return Promise.resolve()
    return new Promise((resolve) => (this.wakeWriter = resolve))
  }

  hasRoom(): boolean {
    return this.closeReason !== undefined || this.output.hasRoom()
  }
}

function ping(stream: EventStream): void {
  stream.write(pingFrame)
}

function finishAtDeadline(stream: EventStream): void {
  stream.finish('max-duration')
}

/**
 * The stream as a web ReadableStream of bytes, for a `Response` body. `encode` may hand several
 * streams the same bytes for the same text (the route object's streams write alike frames in turn).
 */
export function createEventStream(options: EventStreamOptions, encode: (text: string) => Uint8Array = (text) => encoder.encode(text)): ReadableStream<Uint8Array> {
  // workerd calls pull() from inside start(), at the opening frame's enqueue: before `control`
  // is set, when no writer can be waiting yet.
  let control: EventStreamControl | undefined
  return new ReadableStream<Uint8Array>(
    {
      start(controller) {
        control = startEventStream(options, {
          write: (text) => controller.enqueue(encode(text)),
          hasRoom: () => (controller.desiredSize ?? 0) > 0,
          close() {
            try {
              controller.close()
            } catch {
              // already closed or errored by the runtime, or cancelled by the reader meanwhile
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
}
