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
  let buffer = ''
  const reader = response.body?.getReader()
  const decoder = new TextDecoder()
  let ended = false
  const queue: SseEvent[] = []

  const parseBuffered = () => {
    let end: number
    while ((end = buffer.indexOf('\n\n')) !== -1) {
      const block = buffer.slice(0, end)
      buffer = buffer.slice(end + 2)
      const event: SseEvent = { event: 'message', data: '' }
      const data: string[] = []
      let hasField = false
      for (const line of block.split('\n')) {
        if (line.startsWith(':')) continue
        const colon = line.indexOf(':')
        const field = colon === -1 ? line : line.slice(0, colon)
        const value = colon === -1 ? '' : line.slice(colon + 1).replace(/^ /, '')
        hasField = true
        if (field === 'id') event.id = value
        else if (field === 'event') event.event = value
        else if (field === 'data') data.push(value)
        else if (field === 'retry') event.retry = Number(value)
      }
      event.data = data.join('\n')
      if (hasField && (data.length > 0 || event.retry === undefined)) queue.push(event)
    }
  }

  return {
    status: response.status,
    headers: response.headers,
    raw: () => raw,
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
        buffer += text
        parseBuffered()
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
