import { request, type IncomingMessage } from 'node:http'
import { EventStreamParser } from '../../test/support/event-stream-parser'

/**
 * A lean SSE client for the benchmarks: node:http and the tests' event-stream parser
 * with nothing kept beside it, so the client costs little next to the raw broker client
 * it is compared with; the tests' own client in test/support keeps the raw text instead.
 */
export interface SseEvent {
  event: string
  id: string | undefined
  data: string
}

export interface SseReaderOptions {
  headers?: Record<string, string>
  /** Called for each event with the time its chunk arrived (performance.now()). */
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
      let receivedAt = 0
      const parser = new EventStreamParser({ event: ({ type, id, data }) => options.onEvent({ event: type, id, data }, receivedAt) })
      res.on('data', (chunk: string) => {
        receivedAt = performance.now()
        parser.push(chunk)
      })
      req.off('error', reject)
      req.on('error', () => {}) // a close() mid-stream surfaces here; `ended` reports it
      resolve({ ended, close: () => req.destroy() })
    })
    req.end()
  })
}
