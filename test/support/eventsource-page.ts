/**
 * The script of the browser tests' page: a plain EventSource on /graphql/stream and
 * nothing else resuming it. Each reconnect after a cut is the browser's own, with its
 * own Last-Event-ID. With `keepPosition`, the page stores the last event's id in
 * sessionStorage and, when loaded again, starts from it with `?lastEventId=`.
 *
 * It is injected with addInitScript, so it runs in whatever document the function's
 * origin serves; the test needs no page route in the function.
 */
export interface EventSourcePageState {
  /** `n` of each `next` event, in the order they arrived. */
  numbers: number[]
  /** Successful connections (`open` events). */
  opens: number
  /** Dropped connections the browser reported (and retried). */
  drops: number
  gaps: string[]
  /** `event: error` frames from the server. */
  serverErrors: string[]
  /** Whether EventSource gave up (readyState CLOSED), which no cut may cause. */
  closed: boolean
  /** `n` of the stored position this page load resumed after, if any. */
  resumedAfter: number | null
  source: EventSource
}

declare global {
  interface Window {
    __stream: EventSourcePageState
  }
}

export interface EventSourcePageOptions {
  query: string
  from?: 'earliest'
  keepPosition?: boolean
}

export function eventSourcePage(options: EventSourcePageOptions): string {
  return `(${pageMain})(${JSON.stringify(options)})`
}

const pageMain = `function (options) {
  const saved = options.keepPosition ? JSON.parse(sessionStorage.getItem('position') || 'null') : null
  const params = new URLSearchParams({ query: options.query })
  if (saved) params.set('lastEventId', saved.id)
  else if (options.from) params.set('from', options.from)
  const source = new EventSource('/graphql/stream?' + params)
  const state = { numbers: [], opens: 0, drops: 0, gaps: [], serverErrors: [], closed: false, resumedAfter: saved && saved.n, source }
  window.__stream = state
  source.addEventListener('open', () => state.opens++)
  source.addEventListener('next', (event) => {
    const n = JSON.parse(event.data).data.events.n
    state.numbers.push(n)
    if (options.keepPosition) sessionStorage.setItem('position', JSON.stringify({ id: event.lastEventId, n }))
  })
  source.addEventListener('gap', (event) => state.gaps.push(event.data))
  source.addEventListener('error', (event) => {
    // A server's error frame is a MessageEvent with data; a dropped connection is a plain Event.
    if (event instanceof MessageEvent) state.serverErrors.push(event.data)
    else state.drops++
    if (source.readyState === EventSource.CLOSED) state.closed = true
  })
}`
