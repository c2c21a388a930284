/**
 * The Workers platform's per-invocation limits, respected by the stream that runs in the
 * invocation: every outgoing request (a fetch, or a WebSocket such as the NATS connection)
 * is a subrequest, `MAX_SUBREQUESTS` of them at most (Cloudflare: 50 on the Free plan, 10,000
 * on Paid), and at most 6 connections may be open at once. On Workers a stream is one
 * invocation (its request), so one budget per invocation is one budget per stream.
 *
 * The budget refuses the request that would pass the limit before the platform fails it; the
 * relay then ends the stream without `complete` and without sending the batch whose request was
 * refused, and the client resumes from the last id it got. After each batch the relay also asks
 * whether the next batch could pass the limit (it may take as many requests as the largest one so
 * far), and ends there instead, so that most streams end between batches.
 */
import type { StreamBudget } from '../relay/relay'

/** Outgoing connections one invocation may hold open at once on Cloudflare Workers. */
export const MAX_CONNECTIONS = 6

/** Thrown in place of a request the budget refused; the relay ends the stream cleanly on it. */
export class SubrequestsSpentError extends Error {
  constructor(max: number) {
    super(`the invocation's ${max} subrequests are spent`)
    this.name = 'SubrequestsSpentError'
  }
}

export class SubrequestBudget implements StreamBudget {
  private spent = 0
  private wasRefused = false
  /** Spent when the relay last asked, and the most spent between two of its asks. */
  private spentAtLastBatch = 0
  private largestBatch = 0
  private open = 0
  private readonly waiting: (() => void)[] = []

  constructor(
    readonly max: number,
    private readonly maxConnections = MAX_CONNECTIONS,
  ) {}

  get used(): number {
    return this.spent
  }

  get openConnections(): number {
    return this.open
  }

  /** Counts one subrequest, or throws SubrequestsSpentError when it would pass the limit. */
  spend(): void {
    if (this.spent >= this.max) {
      this.wasRefused = true
      throw new SubrequestsSpentError(this.max)
    }
    this.spent++
  }

  refused(): boolean {
    return this.wasRefused
  }

  endsAfterBatch(): boolean {
    this.largestBatch = Math.max(this.largestBatch, this.spent - this.spentAtLastBatch)
    this.spentAtLastBatch = this.spent
    return this.spent + Math.max(1, this.largestBatch) > this.max
  }

  /** Waits for one of the connections; the caller gives it back with `release`. */
  async connection(): Promise<void> {
    while (this.open >= this.maxConnections) await new Promise<void>((resolve) => this.waiting.push(resolve))
    this.open++
  }

  /** Takes a connection without waiting (a WebSocket is opened synchronously); fetches wait until it is released. */
  holdConnection(): void {
    this.open++
  }

  release(): void {
    this.open--
    this.waiting.shift()?.()
  }
}

/** The budget of the invocation running now, if any. */
export type CurrentBudget = () => SubrequestBudget | undefined

/**
 * Replaces the global `fetch` and `WebSocket` with ones that charge the current invocation's
 * budget: a fetch counts one subrequest and holds a connection until its response body is read
 * (or the request fails); a WebSocket counts one and holds a connection until it closes. Outside
 * an invocation (module load) nothing is counted.
 */
export function chargeOutgoingRequests(current: CurrentBudget, scope: typeof globalThis = globalThis): void {
  const platformFetch = scope.fetch
  scope.fetch = (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => charged(current(), () => platformFetch(input, init))
  const PlatformWebSocket = scope.WebSocket
  if (PlatformWebSocket === undefined) return
  scope.WebSocket = class ChargedWebSocket extends PlatformWebSocket {
    constructor(url: string | URL, protocols?: string | string[]) {
      const budget = current()
      budget?.spend()
      super(url, protocols)
      if (budget === undefined) return
      budget.holdConnection()
      let released = false
      const release = () => {
        if (released) return
        released = true
        budget.release()
      }
      this.addEventListener('close', release)
      this.addEventListener('error', release)
    }
  }
}

/** Makes one request charged to `budget` (when there is one): a subrequest, and a connection until its body is read. */
export async function charged(budget: SubrequestBudget | undefined, request: () => Promise<Response>): Promise<Response> {
  if (budget === undefined) return request()
  const { response, release } = await chargedUntilReleased(budget, request)
  return releasedWhenRead(response, release)
}

/**
 * Makes one request charged to `budget` (when there is one), holding its connection until the
 * caller calls `release` (once or more): for a caller that reads the body itself to its end, without
 * the extra stream `charged` puts in front of it to notice that end.
 */
export async function chargedUntilReleased(
  budget: SubrequestBudget | undefined,
  request: () => Promise<Response>,
): Promise<{ response: Response; release: () => void }> {
  if (budget === undefined) return { response: await request(), release: () => {} }
  budget.spend()
  await budget.connection()
  let response: Response
  try {
    response = await request()
  } catch (error) {
    budget.release()
    throw error
  }
  let released = false
  const release = () => {
    if (released) return
    released = true
    budget.release()
  }
  return { response, release }
}

/** The response with `release` called once its body has been read to the end, cancelled or failed. */
export function releasedWhenRead(response: Response, release: () => void): Response {
  // A body-less answer, or one a Response cannot be rebuilt with (a 101 upgrade), is passed on as it is.
  if (response.body === null || response.status < 200 || response.status > 599) {
    release()
    return response
  }
  let released = false
  const once = () => {
    if (released) return
    released = true
    release()
  }
  const reader = response.body.getReader()
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const { done, value } = await reader.read()
        if (done) {
          once()
          controller.close()
        } else controller.enqueue(value)
      } catch (error) {
        once()
        controller.error(error)
      }
    },
    cancel(reason) {
      once()
      return reader.cancel(reason)
    },
  })
  return new Response(body, { status: response.status, statusText: response.statusText, headers: response.headers })
}
