import { EventStreamParser } from './event-stream-parser'

/**
 * A test client that reads /graphql/stream as EventSource would and keeps the raw
 * text, so tests can assert both parsed events and the exact bytes on the wire.
 */
export interface SseEvent {
  id?: string
  event: string
  data: string
  retry?: number
}

export interface SseConnection {
  status: number
  headers: Headers
  /** The next dispatched event (comments are skipped); undefined when the stream ended. */
  next(): Promise<SseEvent | undefined>
  /** Everything received so far, as text. */
  raw(): string
  /** What EventSource would report as `lastEventId` now: id-only frames move it too. */
  lastEventId(): string
  /** Cuts the connection, as a network drop would. */
  cut(): void
}

/** `fetcher` defaults to the global fetch; tests of the app alone pass `app.fetch` through `memoryApp`. */
export async function openSse(
  url: string,
  init: RequestInit = {},
  fetcher: (url: string, init: RequestInit) => Response | Promise<Response> = fetch,
): Promise<SseConnection> {
  const abort = new AbortController()
  const response = await fetcher(url, { ...init, signal: abort.signal })
  let raw = ''
  const reader = response.body?.getReader()
  const decoder = new TextDecoder()
  let ended = false
  const queue: SseEvent[] = []
  const parser = new EventStreamParser({
    event: ({ type, lastEventId: _lastEventId, ...fields }) => queue.push({ event: type, ...fields }),
  })

  return {
    status: response.status,
    headers: response.headers,
    raw: () => raw,
    lastEventId: () => parser.lastEventId,
    cut: () => {
      abort.abort()
      void reader?.cancel().catch(() => {})
    },
    async next() {
      while (queue.length === 0 && !ended && reader) {
        let chunk: ReadableStreamReadResult<Uint8Array>
        try {
          chunk = await reader.read()
        } catch {
          ended = true
          break
        }
        if (chunk.done) {
          ended = true
          break
        }
        const text = decoder.decode(chunk.value, { stream: true })
        raw += text
        parser.push(text)
      }
      return queue.shift()
    },
  }
}

/** Reads `next` events until `count` were read (or the stream ends), returning them in order. */
export async function readNextEvents(connection: SseConnection, count: number): Promise<SseEvent[]> {
  const events: SseEvent[] = []
  while (events.length < count) {
    const event = await connection.next()
    if (!event) break
    if (event.event === 'next') events.push(event)
  }
  return events
}

/**
 * Follows one subscription across the clean ends a server may make (MAX_STREAM_SECONDS, a Workers
 * stream's budgets), as EventSource would: the first connection from `urlFor(undefined)`, each
 * next one with `Last-Event-ID`. Every event must be `next`; every end but the last must carry no
 * `error` and no `complete`. `take` gets each event's `data` field and says when to stop.
 * `ends()` counts the clean ends so far; `done` settles once `take` said stop, or throws.
 */
export function followAcrossCleanEnds(
  urlFor: (lastEventId: string | undefined) => string,
  take: (data: Record<string, unknown>) => boolean,
  maxConnections: number,
): { ends(): number; done: Promise<void> } {
  let ends = 0
  const follow = async () => {
    let lastEventId: string | undefined
    for (let connections = 0; connections < maxConnections; connections++) {
      const headers: Record<string, string> = lastEventId === undefined ? {} : { 'Last-Event-ID': lastEventId }
      const connection = await openSse(urlFor(lastEventId), { headers })
      if (connection.status !== 200) throw new Error(`connection ${connections} answered ${connection.status}`)
      let stop = false
      for (let event = await connection.next(); event !== undefined; event = await connection.next()) {
        if (event.event !== 'next') throw new Error(`an ${event.event} event where only next was expected: ${connection.raw()}`)
        lastEventId = event.id
        stop = take(JSON.parse(event.data).data)
        if (stop) break
      }
      connection.cut()
      if (stop) return
      if (/event: (complete|error)/.test(connection.raw())) throw new Error(`a stream ended with complete or error: ${connection.raw()}`)
      ends++
    }
    throw new Error(`not done after ${maxConnections} connections`)
  }
  const done = follow()
  // Awaited once the test has published; a failure before then must not count as unhandled.
  done.catch(() => {})
  return { ends: () => ends, done }
}
