import { request, type IncomingMessage } from 'node:http'

/**
 * A lean SSE client for the benchmarks: node:http and a parser that scans each
 * chunk once, so the client costs little beside the raw broker client it is
 * compared with. It follows the EventSource field rules (comments skipped, one
 * space after the colon dropped, data lines joined) for the frames this server
 * writes; the tests' own client in test/support keeps the raw text instead.
 */
export interface SseEvent {
  event: string
  id: string | undefined
  data: string
}

export interface SseReaderOptions {
  headers?: Record<string, string>
  /** Called for each event with the time its chunk arrived (performance.now()), before parsing. */
  onEvent(event: SseEvent, receivedAt: number): void
}

export interface SseReader {
  /** Resolves when the response ends or the reader is closed. */
  readonly ended: Promise<void>
  close(): void
}

/** Resolves once the response headers arrived with status 200. */
export function readSse(url: string, options: SseReaderOptions): Promise<SseReader> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent: false, headers: { Accept: 'text/event-stream', ...options.headers } })
    req.once('error', reject)
    req.once('response', (res: IncomingMessage) => {
      if (res.statusCode !== 200) {
        res.resume()
        reject(new Error(`${url} answered ${res.statusCode}`))
        return
      }
      const ended = new Promise<void>((done) => {
        res.once('close', done)
        res.once('end', done)
        res.once('error', () => done())
      })
      res.setEncoding('utf8')
      let pending = ''
      res.on('data', (chunk: string) => {
        const receivedAt = performance.now()
        const text = pending + chunk
        let start = 0
        let end: number
        while ((end = text.indexOf('\n\n', start)) !== -1) {
          dispatch(text, start, end, receivedAt, options.onEvent)
          start = end + 2
        }
        pending = text.slice(start)
      })
      req.off('error', reject)
      req.on('error', () => {}) // a close() mid-stream surfaces here; `ended` reports it
      resolve({ ended, close: () => req.destroy() })
    })
    req.end()
  })
}

/** One frame, `text[start, end)`; dispatched when it has a data line, as EventSource does. */
function dispatch(text: string, start: number, end: number, receivedAt: number, onEvent: SseReaderOptions['onEvent']) {
  let event = 'message'
  let id: string | undefined
  let data: string | undefined
  for (let lineStart = start; lineStart < end; ) {
    let lineEnd = text.indexOf('\n', lineStart)
    if (lineEnd === -1 || lineEnd > end) lineEnd = end
    if (text.charCodeAt(lineStart) !== 58 /* ':' starts a comment */) {
      let colon = text.indexOf(':', lineStart)
      if (colon === -1 || colon > lineEnd) colon = lineEnd
      let valueStart = colon < lineEnd ? colon + 1 : lineEnd
      if (text.charCodeAt(valueStart) === 32 && valueStart < lineEnd) valueStart++
      const field = text.slice(lineStart, colon)
      const value = text.slice(valueStart, lineEnd)
      if (field === 'data') data = data === undefined ? value : `${data}\n${value}`
      else if (field === 'id') id = value
      else if (field === 'event') event = value
    }
    lineStart = lineEnd + 1
  }
  if (data !== undefined) onEvent({ event, id, data }, receivedAt)
}
