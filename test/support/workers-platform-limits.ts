/**
 * Cloudflare's per-invocation limits on outgoing requests, imposed inside workerd for tests the
 * way the platform imposes them (Miniflare does not): the fetch (or WebSocket) past the
 * invocation's subrequest limit throws "Too many subrequests.", and past 6 open connections a
 * new one waits until another closes. Installed when this module is evaluated, before the Worker's
 * own modules take the global fetch, so the Worker's requests pass through it last.
 */
import { AsyncLocalStorage } from 'node:async_hooks'
import { releasedWhenRead } from '../../src/edge/subrequest-budget'

export class Invocation {
  subrequests = 0
  open = 0
  private readonly waiting: (() => void)[] = []

  constructor(
    readonly subrequestLimit: number,
    private readonly stats: PlatformStats,
  ) {}

  /** Counts one subrequest as the platform does, failing the one past the limit. */
  subrequest(): void {
    if (this.subrequests >= this.subrequestLimit) {
      this.stats.refused++
      throw new Error('Too many subrequests.')
    }
    this.subrequests++
    this.stats.largestInvocation = Math.max(this.stats.largestInvocation, this.subrequests)
  }

  async connect(): Promise<void> {
    if (this.open >= CONNECTION_LIMIT) this.stats.connectionWaits++
    while (this.open >= CONNECTION_LIMIT) await new Promise<void>((resolve) => this.waiting.push(resolve))
    this.open++
    this.stats.largestOpen = Math.max(this.stats.largestOpen, this.open)
  }

  disconnect(): void {
    this.open--
    this.waiting.shift()?.()
  }
}

export interface PlatformStats {
  /** Requests the limit failed. */
  refused: number
  /** The most subrequests one invocation made. */
  largestInvocation: number
  /** Times a connection had to wait for one of the 6 to close. */
  connectionWaits: number
  /** The most connections one invocation held at once. */
  largestOpen: number
}

const CONNECTION_LIMIT = 6

export const stats: PlatformStats = { refused: 0, largestInvocation: 0, connectionWaits: 0, largestOpen: 0 }
export const invocations = new AsyncLocalStorage<Invocation>()

const platformFetch = globalThis.fetch
globalThis.fetch = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
  const invocation = invocations.getStore()
  if (invocation === undefined) return platformFetch(input, init)
  invocation.subrequest()
  await invocation.connect()
  let response: Response
  try {
    response = await platformFetch(input, init)
  } catch (error) {
    invocation.disconnect()
    throw error
  }
  return releasedWhenRead(response, () => invocation.disconnect())
}

const PlatformWebSocket = globalThis.WebSocket
globalThis.WebSocket = class LimitedWebSocket extends PlatformWebSocket {
  constructor(url: string | URL, protocols?: string | string[]) {
    const invocation = invocations.getStore()
    invocation?.subrequest()
    super(url, protocols)
    if (invocation === undefined) return
    // A WebSocket cannot wait for a free connection: it is opened at once and counted in.
    invocation.open++
    stats.largestOpen = Math.max(stats.largestOpen, invocation.open)
    let closed = false
    const close = () => {
      if (!closed) invocation.disconnect()
      closed = true
    }
    this.addEventListener('close', close)
    this.addEventListener('error', close)
  }
}
