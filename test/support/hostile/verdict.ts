/**
 * What every answer to a hostile request must be: no 5xx, no hang, a stream that opens properly
 * or an error in the protocol's JSON shape, and nothing internal (stack, file, exception name)
 * nor any credential the request carried.
 */
import type { HostileRequest } from './requests'

// Far above the slowest answer seen (under 1 s on a loaded 2-core machine): only a hang trips it.
export const TIME_BOUND_MS = 10_000

const CODES = new Set([
  'BAD_REQUEST', 'GRAPHQL_PARSE_FAILED', 'GRAPHQL_VALIDATION_FAILED', 'NOT_A_SUBSCRIPTION', 'UNKNOWN_OPERATION', 'INVALID_ARGUMENT',
  'INVALID_CURSOR', 'UNAUTHENTICATED', 'FORBIDDEN', 'METHOD_NOT_ALLOWED', 'REQUEST_TOO_LARGE', 'NOT_FOUND',
])
// Stack frames, source paths, JavaScript exception names and the generic 500 text.
const INTERNALS =
  /\n\s+at |\bat [^\s]+ \(|node_modules|file:\/\/|\/work\/|\.ts:\d+|\.js:\d+|\b(TypeError|RangeError|ReferenceError|URIError|EvalError)\b|SyntaxError\b(?!: )|Maximum call stack|Cannot read propert|is not a function|Internal server error/

export interface Tally {
  requests: number
  byStatus: Map<number, number>
  byCode: Map<string, number>
  streamsOpened: number
  slowestMs: number
}

export function newTally(): Tally {
  return { requests: 0, byStatus: new Map(), byCode: new Map(), streamsOpened: 0, slowestMs: 0 }
}

export function describeTally(tally: Tally): string {
  const statuses = [...tally.byStatus].sort(([a], [b]) => a - b).map(([status, n]) => `${status}×${n}`)
  const codes = [...tally.byCode].sort(([, a], [, b]) => b - a).map(([code, n]) => `${code}×${n}`)
  return `${tally.requests} requests; statuses ${statuses.join(' ')}; codes ${codes.join(' ')}; ${tally.streamsOpened} streams opened and closed; slowest ${Math.round(tally.slowestMs)} ms`
}

/** Sends one request and checks its answer; throws an Error naming what is wrong. */
export async function judge(send: () => Promise<Response>, request: HostileRequest, tally: Tally): Promise<void> {
  const started = performance.now()
  const response = await withinBound(send(), 'no response')
  const status = response.status
  tally.requests++
  tally.byStatus.set(status, (tally.byStatus.get(status) ?? 0) + 1)
  if (status >= 500) throw new Error(`status ${status}: ${await response.text()}`)
  for (const [name, value] of response.headers) assertClean(`header ${name}`, value, request)

  const type = response.headers.get('content-type') ?? ''
  if (status === 200 && type.startsWith('text/event-stream')) {
    const reader = response.body!.getReader()
    const first = await withinBound(reader.read(), 'no first bytes of the stream')
    await reader.cancel()
    const text = new TextDecoder().decode(first.value)
    if (!text.startsWith('retry: ')) throw new Error(`a stream that does not open with retry: ${JSON.stringify(text.slice(0, 200))}`)
    assertClean('stream', text, request)
    tally.streamsOpened++
  } else if (status === 431) {
    // Node's HTTP server refuses a request head over 16 KiB itself, before the app sees it.
    await response.body?.cancel()
  } else if (status === 204 || request.method === 'HEAD') {
    const body = await withinBound(response.text(), 'no end of the body')
    if (body !== '') throw new Error(`a body on ${status} ${request.method}: ${body.slice(0, 200)}`)
  } else {
    const body = await withinBound(response.text(), 'no end of the body')
    assertClean('body', body, request)
    if (!type.startsWith('application/json')) throw new Error(`status ${status} with ${type}: ${body.slice(0, 200)}`)
    const parsed = JSON.parse(body) as { errors?: { message?: unknown; extensions?: { code?: unknown } }[] }
    const error = parsed.errors?.[0]
    if (parsed.errors?.length !== 1 || typeof error?.message !== 'string' || typeof error.extensions?.code !== 'string' || Object.keys(parsed).length !== 1) {
      throw new Error(`not the protocol's error shape: ${body.slice(0, 300)}`)
    }
    if (!CODES.has(error.extensions.code)) throw new Error(`unexpected code ${error.extensions.code}`)
    tally.byCode.set(error.extensions.code, (tally.byCode.get(error.extensions.code) ?? 0) + 1)
  }
  tally.slowestMs = Math.max(tally.slowestMs, performance.now() - started)
}

function assertClean(where: string, text: string, request: HostileRequest): void {
  const leak = INTERNALS.exec(text)
  if (leak) throw new Error(`${where} shows internals (${JSON.stringify(leak[0])}): ${text.slice(0, 300)}`)
  for (const secret of request.secrets) {
    const signature = secret.split('.')[2] ?? ''
    if (signature.length >= 16 && text.includes(signature)) throw new Error(`${where} echoes the token`)
  }
}

async function withinBound<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} within ${TIME_BOUND_MS} ms`)), TIME_BOUND_MS)
  })
  try {
    return await Promise.race([promise, timeout])
  } finally {
    clearTimeout(timer)
  }
}
