import { EventStreamParser } from '../event-stream-parser'

/**
 * A client that behaves as the browser's EventSource does (WHATWG HTML, "Server-sent
 * events"): it parses the stream line by line, remembers the last event ID string
 * (set when an event is dispatched, from the id of that event or an earlier one),
 * takes `retry:` as its reconnection time, and after the stream ends or the network
 * fails it waits that long and reconnects with `Last-Event-ID`. A response that is not
 * a 200 event stream fails it for good. The application closes it (on `complete`).
 * With `retryOverloaded` it is an application that opens a new EventSource after a 503
 * OVERLOADED, once `Retry-After` has passed (EventSource itself cannot see that header).
 *
 * On top of that, the faults a client brings: cuts at chosen moments (a network drop
 * that loses whatever was in flight) and slow reading (a phone on a bad link).
 */
export interface DispatchedEvent {
  type: string
  data: string
  lastEventId: string
}

export interface EventSourceOptions {
  url: string
  onEvent(event: DispatchedEvent, source: ResumingEventSource): void
  /** Upper bound on the waits the server asks for with `retry:`, so that a test stays bounded. */
  maxRetryMs: number
  /** Asked at each connect: after how many dispatched events to cut this connection (undefined: never). */
  cutAfter?: () => number | undefined
  /** A slow reader takes at most this many bytes per second. */
  bytesPerSecond?: number
  /** Awaited before each read from the network: a client that stops reading holds it. */
  beforeRead?: () => Promise<void>
  /** Comment lines (`: ping`), which EventSource swallows; tests count heartbeats with it. */
  onComment?: (text: string) => void
  /** A 503 OVERLOADED with `Retry-After` is tried again after that many seconds (bounded by maxRetryMs), not a failure. */
  retryOverloaded?: boolean
  /**
   * Each answer: the event stream opened (a 200, before its body is read), that stream closed
   * (whichever way), or a 503 OVERLOADED to try again (`retryOverloaded`). Tests count open streams with it.
   */
  onConnection?: (state: 'open' | 'closed' | 'overloaded') => void
}

export interface EventSourceStats {
  connects: number
  /** Connections this client cut itself. */
  cuts: number
  /** Streams the server ended (a clean end of the response). */
  serverEnds: number
  /** Connects or reads that failed on the network. */
  networkErrors: number
  /** Time spent waiting before reconnects, as `retry:` asked (bounded by maxRetryMs). */
  retryWaitMs: number
  /** 503 OVERLOADED answers (with `retryOverloaded`), each tried again after its `Retry-After`. */
  overloaded: number
  /** Set when a response failed the EventSource for good (not a 200 event stream). */
  failed?: string
}

/** What browsers use before a stream sets `retry:`. */
const DEFAULT_RECONNECTION_MS = 3000

export class ResumingEventSource {
  lastEventId = ''
  reconnectionMs = DEFAULT_RECONNECTION_MS
  readonly stats: EventSourceStats = { connects: 0, cuts: 0, serverEnds: 0, networkErrors: 0, retryWaitMs: 0, overloaded: 0 }
  private readonly closed = new AbortController()
  private readonly done: Promise<void>

  constructor(private readonly options: EventSourceOptions) {
    this.done = this.run()
  }

  close(): void {
    this.closed.abort()
  }

  /** Resolves once the source is closed or failed. */
  finished(): Promise<void> {
    return this.done
  }

  private async run(): Promise<void> {
    while (!this.closed.signal.aborted) {
      this.stats.connects++
      const connection = new AbortController()
      let retryAfterMs: number | undefined
      const onClose = () => connection.abort()
      this.closed.signal.addEventListener('abort', onClose, { once: true })
      try {
        const headers: Record<string, string> = { Accept: 'text/event-stream' }
        if (this.lastEventId !== '') headers['Last-Event-ID'] = this.lastEventId
        const response = await fetch(this.options.url, { headers, cache: 'no-store', signal: connection.signal })
        const type = response.headers.get('content-type') ?? ''
        if (response.status !== 200 || !type.startsWith('text/event-stream')) {
          const body = await response.text()
          retryAfterMs = this.options.retryOverloaded ? overloadedRetryMs(response, body) : undefined
          if (retryAfterMs === undefined) {
            this.stats.failed = `${response.status} ${type}: ${body.slice(0, 200)}`
            return
          }
          this.stats.overloaded++
          this.options.onConnection?.('overloaded')
        } else {
          this.options.onConnection?.('open')
          try {
            await this.read(response.body!, connection)
          } finally {
            this.options.onConnection?.('closed')
          }
        }
      } catch {
        if (!connection.signal.aborted) this.stats.networkErrors++
      } finally {
        this.closed.signal.removeEventListener('abort', onClose)
      }
      if (this.closed.signal.aborted) return
      const wait = Math.min(retryAfterMs ?? this.reconnectionMs, this.options.maxRetryMs)
      this.stats.retryWaitMs += wait
      await pause(wait, this.closed.signal)
    }
  }

  private async read(body: ReadableStream<Uint8Array>, connection: AbortController): Promise<void> {
    const reader = body.getReader()
    const decoder = new TextDecoder()
    const cutAfter = this.options.cutAfter?.()
    let dispatched = 0
    // Per connection, as the spec's parser: buffers start empty, the id buffer at the current last event ID.
    const parser = new EventStreamParser(
      {
        event: ({ type, data, lastEventId }) => {
          this.lastEventId = lastEventId
          dispatched++
          this.options.onEvent({ type, data, lastEventId }, this)
        },
        ...(this.options.onComment ? { comment: this.options.onComment } : {}),
        retry: (ms) => {
          this.reconnectionMs = ms
        },
      },
      this.lastEventId,
    )
    // Checked after each line: a cut or close stops the reading there.
    const goOn = () => {
      if (connection.signal.aborted) return false
      if (cutAfter === undefined || dispatched < cutAfter) return true
      // A network drop: whatever else was in flight on this connection is lost.
      this.stats.cuts++
      connection.abort()
      return false
    }
    for (;;) {
      await this.options.beforeRead?.()
      const chunk = await reader.read()
      if (chunk.done) {
        this.stats.serverEnds++
        return
      }
      parser.push(decoder.decode(chunk.value, { stream: true }), goOn)
      // An id-only frame moves the last event ID without an event.
      this.lastEventId = parser.lastEventId
      if (connection.signal.aborted) return
      if (this.options.bytesPerSecond) await pause((chunk.value.byteLength / this.options.bytesPerSecond) * 1000, connection.signal)
    }
  }
}

/** The wait a 503 OVERLOADED asks for (`Retry-After` in seconds); undefined for any other answer. */
function overloadedRetryMs(response: Response, body: string): number | undefined {
  const seconds = response.headers.get('retry-after')
  if (response.status !== 503 || seconds === null || !/^\d+$/.test(seconds)) return undefined
  try {
    const code = (JSON.parse(body) as { errors?: { extensions?: { code?: string } }[] }).errors?.[0]?.extensions?.code
    return code === 'OVERLOADED' ? Number(seconds) * 1000 : undefined
  } catch {
    return undefined
  }
}

/** A wait that ends early when `signal` aborts. */
function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer)
      signal.removeEventListener('abort', done)
      resolve()
    }
    const timer = setTimeout(done, ms)
    signal.addEventListener('abort', done, { once: true })
  })
}
