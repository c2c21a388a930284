/**
 * At most `MAX_STREAMS` open streams in one process. The relay hooks count them (a stream is
 * open from `onOpen` to `onClose`, whichever way it ends); the route asks `full` right before it
 * opens one, with no await in between, and refuses the request with 503 before any broker I/O.
 * The streams already open are not touched.
 */
import { RequestError } from '../errors'
import type { RelayHooks } from '../relay/relay'
import { jitteredRetryMs } from '../sse/frames'

/**
 * The Node entry's default. An idle stream costs about 27 KiB of memory on Node (bench/results.json,
 * the RSS slope; 13 KiB of it outside V8's young generation, which grows to 32 MiB at most
 * whatever the number of streams): 5,000 of them take about 130 MiB above the process's 90 MiB,
 * so a 512 MiB instance keeps about 290 MiB for the read batches of streams that replay (up to
 * 1 MiB each).
 */
export const DEFAULT_MAX_STREAMS = 5000

export interface StreamLimit {
  /** Counts open streams; combined with the app's other hooks. */
  readonly hooks: RelayHooks
  open(): number
  full(): boolean
}

export function streamLimit(max: number): StreamLimit {
  let open = 0
  return {
    hooks: {
      onOpen: () => void open++,
      onClose: () => void open--,
    },
    open: () => open,
    full: () => open >= max,
  }
}

/**
 * The refusal. Refused clients tend to arrive together: `Retry-After` is about the `retry:` an
 * open stream would have told them, jittered per refusal so that they come back spread out.
 */
export function overloaded(max: number, retryMs: number): RequestError {
  const retryAfterSeconds = Math.max(1, Math.ceil(jitteredRetryMs(retryMs) / 1000))
  return new RequestError(503, 'OVERLOADED', `The server holds its maximum of ${max} streams; retry later`, {
    'Retry-After': String(retryAfterSeconds),
  })
}
