/**
 * The one event-stream parser of the tests and the benchmarks, as the WHATWG HTML standard
 * defines it ("Server-sent events", interpreting an event stream): lines, comments, fields with
 * one optional space after the colon, data lines joined, an event dispatched at a blank line only
 * when it has data, and the last event ID set at dispatch from the latest `id:` seen (an id-only
 * block moves it without dispatching). The clients built on it differ in what they do around it:
 * test/support/sse-client.ts keeps the raw text, test/support/faults/eventsource-client.ts
 * reconnects as a browser does, bench/support/sse-reader.ts stays cheap beside the raw broker client.
 */
export interface StreamEvent {
  /** The block's `event:` field, or 'message'. */
  type: string
  data: string
  /** The last event ID once this event is dispatched: its own `id:` or an earlier block's. */
  lastEventId: string
  /** The block's own `id:` field, when it had one. */
  id?: string
  /** The block's own valid `retry:` field, when it had one. */
  retry?: number
}

export interface EventStreamHandlers {
  event(event: StreamEvent): void
  /** A comment line (`: ping`), without its line end. */
  comment?(text: string): void
  /** A valid `retry:` field: the reconnection time the stream asks for, in milliseconds. */
  retry?(ms: number): void
}

export class EventStreamParser {
  /** What EventSource would report as `lastEventId` after the events parsed so far. */
  lastEventId: string
  private pending = ''
  private data = ''
  private type = ''
  private idBuffer: string
  private blockId: string | undefined
  private blockRetry: number | undefined

  /** A connection's parser starts from the last event ID of the one before it, as a reconnecting EventSource does. */
  constructor(
    private readonly handlers: EventStreamHandlers,
    lastEventId = '',
  ) {
    this.lastEventId = lastEventId
    this.idBuffer = lastEventId
  }

  /**
   * Parses the complete lines of `text` (the rest waits for the next chunk). `goOn` is asked after
   * each line; when it says no, the remaining text is dropped, as a connection cut there loses it.
   */
  push(text: string, goOn?: () => boolean): void {
    const pending = this.pending + text
    let start = 0
    let end: number
    while ((end = pending.indexOf('\n', start)) !== -1) {
      // The server ends lines with LF; a CR before it is dropped, as CRLF is a line end too.
      this.line(pending.slice(start, pending.charCodeAt(end - 1) === 13 ? end - 1 : end))
      start = end + 1
      if (goOn !== undefined && !goOn()) {
        this.pending = ''
        return
      }
    }
    this.pending = pending.slice(start)
  }

  private line(text: string): void {
    if (text === '') return this.dispatch()
    if (text.charCodeAt(0) === 58 /* ':' */) return this.handlers.comment?.(text)
    const colon = text.indexOf(':')
    const field = colon === -1 ? text : text.slice(0, colon)
    const value = colon === -1 ? '' : text.slice(colon + (text.charCodeAt(colon + 1) === 32 ? 2 : 1))
    if (field === 'data') this.data += `${value}\n`
    else if (field === 'event') this.type = value
    else if (field === 'id' && !value.includes('\0')) this.idBuffer = this.blockId = value
    else if (field === 'retry' && /^\d+$/.test(value)) {
      this.blockRetry = Number(value)
      this.handlers.retry?.(this.blockRetry)
    }
  }

  private dispatch(): void {
    this.lastEventId = this.idBuffer
    const { data, type, blockId, blockRetry } = this
    this.data = this.type = ''
    this.blockId = this.blockRetry = undefined
    if (data === '') return
    const event: StreamEvent = { type: type || 'message', data: data.slice(0, -1), lastEventId: this.lastEventId }
    if (blockId !== undefined) event.id = blockId
    if (blockRetry !== undefined) event.retry = blockRetry
    this.handlers.event(event)
  }
}
