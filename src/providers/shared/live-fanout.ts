import { Mailbox } from './mailbox'
import type { ComparePositions } from './position-order'
import type { BatchReceiver, Provider, ProviderItem, ResolvedRoute, StartPosition } from '../provider'

export interface LiveFanoutOptions {
  /** Items a stream may leave untaken on the shared reader before it moves to a reader of its own. */
  backlogLimit?: number
}

/**
 * One shared reader per route for the streams of one process that are at the head of
 * the log: one broker consumer and one decode per event, however many streams watch it.
 * Streams that start behind read on their own and join once caught up: once their position
 * is at or after the shared reader's in the provider's order (for a vector of offsets or
 * entry ids, in every component). A joined stream skips what the shared reader delivers up
 * to its position; should the shared reader deliver an item the stream lacks before it got
 * there (a vector ahead in one component, behind in another), the stream could not take it
 * without its cursor going back, so it returns to a reader of its own from where it is.
 *
 * A stream given a `receiver` that waits for its next batch gets the shared reader's batch
 * handed to the receiver within the shared reader's own turn: no promise per stream per batch.
 * A stream busy with its last batch, or whose receiver refuses (its client has no room), gets it
 * in its mailbox and through its iterator, as every stream without a receiver does.
 */
export class LiveFanout implements Provider {
  private readonly hubs = new Map<string, Hub>()
  /** Streams of each route reading on their own (behind, or detached). */
  private readonly ownReaders = new Map<string, number>()
  private readonly backlogLimit: number
  readonly comparePositions: ComparePositions

  constructor(
    private readonly inner: Provider,
    options: LiveFanoutOptions = {},
  ) {
    this.backlogLimit = options.backlogLimit ?? 1000
    this.comparePositions = inner.comparePositions
  }

  isValidPosition(position: string, route: ResolvedRoute): boolean {
    return this.inner.isValidPosition(position, route)
  }

  async *open(route: ResolvedRoute, start: StartPosition, signal: AbortSignal, receiver?: BatchReceiver): AsyncIterable<ProviderItem[]> {
    if (signal.aborted) return
    const key = routeKey(route)
    let subscriber = start.from === 'live' ? this.attach(key, route, receiver) : undefined
    let own: OwnReader | undefined
    let ownStart = start
    /** Position of the last item this stream has (yielded, or waiting in its mailbox). */
    let last = start.from === 'after' ? start.position : undefined
    const onAbort = () => {
      if (subscriber) this.leave(subscriber)
      subscriber?.notify()
      own?.controller.abort()
    }
    signal.addEventListener('abort', onAbort, { once: true })
    try {
      while (!signal.aborted) {
        if (subscriber) {
          if (subscriber.size > 0) {
            yield subscriber.takeAll()
            continue
          }
          if (subscriber.state === 'attached') {
            await subscriber.wait()
            continue
          }
          if (subscriber.state === 'failed') throw subscriber.error
          if (subscriber.state === 'ended') return
          // Detached (for its backlog, or passed by the shared reader), now drained: go on alone from what it has.
          last = subscriber.last
          ownStart = last === undefined ? { from: 'live' } : { from: 'after', position: last }
          subscriber = undefined
          continue
        }
        if (own === undefined) {
          own = this.openOwn(key, route, ownStart)
          this.hubFor(key, route)
        }
        const result = await own.iterator.next()
        if (result.done) return
        for (const item of result.value) last = positionOf(item) ?? last
        yield result.value
        // Caught up with the shared reader: what it delivers after `last` is exactly what
        // comes next. `last` came from the log here, so a position beyond it was already reported.
        const hub = this.hubFor(key, route)
        if (hub?.last !== undefined && last !== undefined && this.comparePositions(last, hub.last) >= 0) {
          subscriber = this.join(hub, last, receiver)
          const joined = own
          own = undefined
          await this.closeOwn(key, joined)
        }
      }
    } finally {
      signal.removeEventListener('abort', onAbort)
      if (subscriber) this.leave(subscriber)
      if (own) await this.closeOwn(key, own)
    }
  }

  private attach(key: string, route: ResolvedRoute, receiver: BatchReceiver | undefined): Subscriber {
    const hub = this.hubs.get(key)
    if (hub === undefined) return this.startHub(key, route, (started) => new Subscriber(started, undefined, this.comparePositions, receiver))
    const subscriber = new Subscriber(hub, undefined, this.comparePositions, receiver)
    // A stream joining a reader without history is told so, as the first one was.
    if (hub.noHistory) subscriber.offer([hub.noHistory])
    hub.subscribers.add(subscriber)
    return subscriber
  }

  private startHub<T extends Subscriber | undefined>(key: string, route: ResolvedRoute, first: (hub: Hub) => T): T {
    const hub = new Hub(key)
    this.hubs.set(key, hub)
    const subscriber = first(hub)
    if (subscriber) hub.subscribers.add(subscriber)
    // Started after the first subscriber is in, so that even a synchronous failure reaches it.
    void this.run(hub, route)
    return subscriber
  }

  private openOwn(key: string, route: ResolvedRoute, start: StartPosition): OwnReader {
    const controller = new AbortController()
    const iterator = this.inner.open(route, start, controller.signal)[Symbol.asyncIterator]()
    this.ownReaders.set(key, (this.ownReaders.get(key) ?? 0) + 1)
    return { controller, iterator }
  }

  private async closeOwn(key: string, own: OwnReader): Promise<void> {
    const left = this.ownReaders.get(key)! - 1
    if (left > 0) this.ownReaders.set(key, left)
    else this.ownReaders.delete(key)
    const hub = this.hubs.get(key)
    if (hub) this.stopIfUnused(hub)
    own.controller.abort()
    try {
      await own.iterator.return?.()
    } catch {
      // A reader failing as it closes has nothing more to give this stream.
    }
  }

  /**
   * Once two streams of a route read on their own, a shared reader pays: they join it when
   * caught up (clients that all resume, after a restart or a broker failure, share again).
   */
  private hubFor(key: string, route: ResolvedRoute): Hub | undefined {
    const hub = this.hubs.get(key)
    if (hub !== undefined || (this.ownReaders.get(key) ?? 0) < 2) return hub
    this.startHub(key, route, () => undefined)
    return this.hubs.get(key)
  }

  private join(hub: Hub, skipThrough: string, receiver: BatchReceiver | undefined): Subscriber {
    const subscriber = new Subscriber(hub, skipThrough, this.comparePositions, receiver)
    hub.subscribers.add(subscriber)
    return subscriber
  }

  private leave(subscriber: Subscriber): void {
    if (subscriber.hub.subscribers.delete(subscriber)) this.stopIfUnused(subscriber.hub)
  }

  /** With no stream on it or waiting to join, the shared reader stops and releases its broker consumer. */
  private stopIfUnused(hub: Hub): void {
    if (hub.subscribers.size > 0 || this.ownReaders.has(hub.key) || this.hubs.get(hub.key) !== hub) return
    this.hubs.delete(hub.key)
    hub.controller.abort()
  }

  private async run(hub: Hub, route: ResolvedRoute): Promise<void> {
    let failure: { error: unknown } | undefined
    try {
      for await (const batch of this.inner.open(route, { from: 'live' }, hub.controller.signal)) {
        for (const item of batch) {
          if (item.type === 'no-history') hub.noHistory = item
          hub.last = positionOf(item) ?? hub.last
        }
        // Never waits for a subscriber: one that lets too much pile up reads on its own instead.
        for (const subscriber of hub.subscribers) {
          let kept: boolean
          try {
            kept = subscriber.offer(batch)
          } catch (error) {
            // Its receiver failed: that stream's failure alone.
            this.leave(subscriber)
            subscriber.settle('failed', error)
            continue
          }
          if (!kept || subscriber.size > this.backlogLimit) {
            this.leave(subscriber)
            subscriber.settle('detached')
          }
        }
      }
    } catch (error) {
      failure = { error }
    }
    if (this.hubs.get(hub.key) === hub) this.hubs.delete(hub.key)
    for (const subscriber of hub.subscribers) subscriber.settle(failure ? 'failed' : 'ended', failure?.error)
    hub.subscribers.clear()
  }
}

/** The shared reader of one route. */
class Hub {
  readonly subscribers = new Set<Subscriber>()
  readonly controller = new AbortController()
  /** Position of the last item delivered; undefined until the first. */
  last: string | undefined
  /** Set when the route has no history, for the streams that attach later. */
  noHistory: Extract<ProviderItem, { type: 'no-history' }> | undefined

  constructor(readonly key: string) {}
}

/** A stream on the shared reader; itself the mailbox its items wait in (one object less to reach per batch). */
class Subscriber extends Mailbox<ProviderItem> {
  state: 'attached' | 'detached' | 'ended' | 'failed' = 'attached'
  error: unknown
  /** Hub items at or before this position were already delivered by the stream's own reader. */
  private skipThrough: string | undefined
  /** Position of the last item pushed, or where the stream joined. */
  last: string | undefined

  constructor(
    readonly hub: Hub,
    skipThrough: string | undefined,
    private readonly compare: ComparePositions,
    private readonly receiver: BatchReceiver | undefined,
  ) {
    super()
    this.skipThrough = skipThrough
    this.last = skipThrough
  }

  /**
   * Takes what the stream lacks of a hub batch: handed to its receiver when the stream waits for
   * it and the receiver takes it, else into its mailbox. False when the hub delivered an item that
   * is neither at or before the stream's position nor after it: the stream must read on its own.
   * Throws what its receiver throws.
   */
  offer(batch: readonly ProviderItem[]): boolean {
    const lacked = this.skipThrough === undefined ? batch : this.unseen(batch)
    if (lacked === undefined) return false
    if (lacked.length === 0) return true
    for (let i = lacked.length - 1; i >= 0; i--) {
      const position = positionOf(lacked[i]!)
      if (position !== undefined) {
        this.last = position
        break
      }
    }
    // Waiting means its mailbox is empty: nothing older comes after this batch.
    if (this.receiver !== undefined && this.waiting && this.receiver.take(lacked)) return true
    this.pushAll(lacked)
    return true
  }

  /** The items of a batch after `skipThrough`; undefined when one is neither at or before it nor after it. */
  private unseen(batch: readonly ProviderItem[]): ProviderItem[] | undefined {
    const unseen: ProviderItem[] = []
    for (const item of batch) {
      const position = positionOf(item)
      if (this.skipThrough !== undefined && position !== undefined) {
        const order = this.compare(position, this.skipThrough)
        if (Number.isNaN(order)) return undefined
        if (order <= 0) continue
        this.skipThrough = undefined
      }
      unseen.push(item)
    }
    return unseen
  }

  settle(state: 'detached' | 'ended' | 'failed', error?: unknown): void {
    this.state = state
    this.error = error
    this.notify()
  }
}

interface OwnReader {
  controller: AbortController
  iterator: AsyncIterator<ProviderItem[]>
}

/** The position after which an item's successors come: an event's own, a gap's resumedFrom; none without history. */
const positionOf = (item: ProviderItem): string | undefined => {
  if (item.type === 'event') return item.position
  return item.type === 'gap' ? item.resumedFrom : undefined
}

const routeKey = (route: ResolvedRoute): string =>
  [route.kind, route.providerId, route.streamName ?? '', ...route.names].join('\u0000')
