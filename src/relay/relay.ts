/**
 * The relay: from a provider's batches to SSE frames, one stream at a time.
 *
 * It reads the provider with backpressure (the next batch is asked for only once the client
 * has taken the last one), applies the subscription's filter, hands what passes to the stream's
 * renderer (projection, and entity resolution for federated graphs), writes the frames, and
 * turns failures into the protocol's `error` frames. Hooks see each stream's life once per
 * batch, never per event, so logs and metrics stay off the per-event path.
 *
 * While it waits for the next batch with room at its client, and its renderer has shown itself
 * synchronous, it also takes batches from the provider's hand (`BatchReceiver`): a shared reader
 * then writes a batch to each of its streams in one turn, without a promise per stream.
 */
import { errorBody, StreamError } from '../errors'
import type { FilteredBatch } from '../graphql/filter-batch'
import type { BatchReceiver, Provider, ProviderItem, ResolvedRoute, StartPosition } from '../providers/provider'
import type { CloseReason, FrameSink } from '../sse/event-stream'
import { completeFrame, errorFrame, jitteredRetryMs, positionFrame } from '../sse/frames'

/** One stream as the hooks see it; the relay keeps its counters. */
export interface RelayStream {
  readonly id: string
  /** The subscription field, e.g. `employeeUpdated`. */
  readonly field: string
  readonly route: ResolvedRoute
  readonly start: StartPosition
  readonly openedAt: number
  /** `next` frames sent so far. */
  events: number
  /** The provider position of the last event sent (undefined before the first, or for at-most-once events). */
  lastPosition: string | undefined
  /** Set when the relay reported a failure to the client; the stream then ends. */
  failure: 'refused' | 'upstream-error' | undefined
}

export type GapItem = Extract<ProviderItem, { type: 'gap' }>
export type NoHistoryItem = Extract<ProviderItem, { type: 'no-history' }>

/** Why a stream ended: the failure the relay reported, else the event stream's reason. */
export type StreamEnd = CloseReason | NonNullable<RelayStream['failure']>

/**
 * Lifecycle hooks, as graphql-sse's handler exposes them. Each is called synchronously and must
 * not throw; none can change what the client receives.
 */
export interface RelayHooks {
  /** Before the provider is opened. */
  onOpen?(stream: RelayStream): void
  /**
   * One provider batch was written: `events` next frames, its gaps, `bytes` of frames (UTF-16
   * units), and the batch's `items` and `frames` for hooks that look closer (metrics).
   */
  onBatch?(stream: RelayStream, batch: { events: number; gaps: readonly GapItem[]; bytes: number; items: readonly ProviderItem[]; frames: string }): void
  /** The stream's events have no log behind them: live, at most once, without ids (before the batch's onBatch). */
  onNoHistory?(stream: RelayStream, item: NoHistoryItem): void
  /** A permanent or retryable refusal the client may see (`StreamError`). */
  onRefused?(stream: RelayStream, error: StreamError): void
  /** Any other failure of the provider; the client only learns UPSTREAM_UNAVAILABLE. */
  onUpstreamError?(stream: RelayStream, error: unknown): void
  onClose?(stream: RelayStream, reason: StreamEnd): void
}

/**
 * Turns one provider batch into frames. Plain subscriptions render synchronously; a renderer that
 * must fetch (entity resolution) returns a promise, and the relay reads nothing more meanwhile.
 * A renderer is one or the other for good: once one returned a string, the relay renders with it
 * where it cannot wait.
 */
export type BatchRenderer = (items: readonly ProviderItem[], signal: AbortSignal) => string | Promise<string>

export interface RelayOptions {
  provider: Provider
  stream: RelayStream
  render: BatchRenderer
  /** The `retry` of error frames, jittered. */
  retryMs: number
  hooks: RelayHooks
  /** A subscription filter: what it withholds is not rendered, and its position goes out as an id-only frame. */
  filter?: {
    apply(items: readonly ProviderItem[]): FilteredBatch
    cursorOf(position: string): string
  }
  /** The request's budget, where the platform limits it (Workers: subrequests, and events for CPU time). */
  budget?: StreamBudget
}

/**
 * A budget the stream's request may spend (Workers' subrequests, and its events for CPU time). When it is spent, the stream
 * ends without `complete` and the client resumes on a new request from its last id.
 */
export interface StreamBudget {
  /** Asked after each batch, with the events the stream sent so far: true when the stream ends there. */
  endsAfterBatch(eventsSent: number): boolean
  /**
   * True once the budget refused a request: the batch that needed it is not sent (the resume reads
   * it again), and the failure it caused ends the stream without an error frame.
   */
  refused(): boolean
}

/** Runs the stream until the provider ends, the client goes or a failure is reported; never throws. */
export async function relay(sink: FrameSink, options: RelayOptions): Promise<void> {
  const { provider, stream, render, retryMs, hooks, filter, budget } = options
  // A budget is asked after each batch and may end the stream there: its batches come through the loop.
  const receiver = budget ? undefined : new SinkReceiver(sink, options)
  try {
    for await (const batch of provider.open(stream.route, stream.start, sink.signal, receiver)) {
      // Batches the receiver took may have filled the client's buffer.
      if (!sink.hasRoom()) await sink.ready()
      const filtered = filter?.apply(batch)
      const items = filtered ? filtered.items : batch
      const rendered = items.length === 0 ? '' : render(items, sink.signal)
      let frames: string
      if (typeof rendered === 'string') {
        frames = rendered
        if (receiver && items.length > 0) receiver.rendersSynchronously = true
      } else frames = await rendered
      if (sink.closed || budget?.refused()) break
      send(sink, options, items, frames, filtered?.withheldUpTo)
      if (!sink.hasRoom()) await sink.ready()
      if (sink.closed || budget?.endsAfterBatch(stream.events)) break
    }
  } catch (error) {
    if (sink.closed || budget?.refused()) return
    sink.write(failureFrames(stream, error, retryMs, hooks))
  }
}

/**
 * Takes a provider's batch while the stream waits with room at its client: renders and writes it
 * at once. A class, not a closure, for what every open stream holds; it keeps the options it uses
 * as its own fields, so that a batch reaches fewer of the stream's objects.
 */
class SinkReceiver implements BatchReceiver, Sending {
  /** Set once the renderer returned a string: only then can a batch be rendered here, without waiting. */
  rendersSynchronously = false
  private readonly render: BatchRenderer
  readonly filter: RelayOptions['filter'] | undefined
  readonly stream: RelayStream
  readonly hooks: RelayHooks

  constructor(
    private readonly sink: FrameSink,
    { render, filter, stream, hooks }: RelayOptions,
  ) {
    this.render = render
    this.filter = filter
    this.stream = stream
    this.hooks = hooks
  }

  take(batch: readonly ProviderItem[]): boolean {
    const sink = this.sink
    if (!this.rendersSynchronously || sink.closed || !sink.hasRoom()) return false
    const filtered = this.filter?.apply(batch)
    const items = filtered ? filtered.items : batch
    let frames: string
    if (items === lastTaken.items && this.render === lastTaken.render) frames = lastTaken.frames
    else {
      const rendered = items.length === 0 ? '' : this.render(items, sink.signal)
      if (typeof rendered !== 'string') throw new TypeError('a renderer that rendered synchronously returned a promise')
      frames = rendered
      lastTaken.items = items
      lastTaken.render = this.render
      lastTaken.frames = frames
    }
    send(sink, this, items, frames, filtered?.withheldUpTo)
    return true
  }
}

/**
 * The last batch a receiver rendered: the streams of a route at the head take the same batch one
 * after another, and those that share a renderer (the same request on the same route) share its frames.
 */
const lastTaken: { items: readonly ProviderItem[] | undefined; render: BatchRenderer | undefined; frames: string } = {
  items: undefined,
  render: undefined,
  frames: '',
}

/** What writing a batch needs of a stream's options. */
interface Sending {
  readonly stream: RelayStream
  readonly hooks: RelayHooks
  readonly filter?: RelayOptions['filter'] | undefined
}

/** Writes a batch's frames, with an id-only frame for what the filter withheld after them, and counts it. */
function send(sink: FrameSink, { stream, hooks, filter }: Sending, items: readonly ProviderItem[], frames: string, withheldUpTo: string | undefined): void {
  if (withheldUpTo !== undefined && filter) frames += positionFrame(filter.cursorOf(withheldUpTo))
  sink.write(frames)
  countBatch(stream, items, frames, hooks)
  if (withheldUpTo !== undefined) stream.lastPosition = withheldUpTo
}

const NO_GAPS: readonly GapItem[] = []

function countBatch(stream: RelayStream, batch: readonly ProviderItem[], frames: string, hooks: RelayHooks): void {
  let gaps: GapItem[] | undefined
  let events = 0
  for (const item of batch) {
    if (item.type === 'gap') {
      gaps ??= []
      gaps.push(item)
      continue
    }
    if (item.type === 'no-history') {
      hooks.onNoHistory?.(stream, item)
      continue
    }
    if (item.type === 'backlog') continue
    events++
    if (item.position !== undefined) stream.lastPosition = item.position
  }
  stream.events += events
  hooks.onBatch?.(stream, { events, gaps: gaps ?? NO_GAPS, bytes: frames.length, items: batch, frames })
}

/** A refusal as the client may see it (ending the subscription when permanent); anything else as UPSTREAM_UNAVAILABLE. */
function failureFrames(stream: RelayStream, error: unknown, retryMs: number, hooks: RelayHooks): string {
  if (error instanceof StreamError) {
    stream.failure = 'refused'
    hooks.onRefused?.(stream, error)
    const body = JSON.stringify(errorBody(error.code, error.message))
    return error.permanent ? errorFrame(body) + completeFrame : errorFrame(body, jitteredRetryMs(retryMs))
  }
  stream.failure = 'upstream-error'
  hooks.onUpstreamError?.(stream, error)
  return upstreamUnavailableFrame(retryMs)
}

/** The end of a stream whose broker failed: the client comes back after a jittered `retry`. */
export const upstreamUnavailableFrame = (retryMs: number): string =>
  errorFrame(JSON.stringify(errorBody('UPSTREAM_UNAVAILABLE', 'The event broker is unavailable; retrying.')), jitteredRetryMs(retryMs))
