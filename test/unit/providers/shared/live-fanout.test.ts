/**
 * LiveFanout over the real memory log: one shared reader per route for the streams at
 * its head, with no event lost, duplicated or reordered as streams join and leave it.
 */
import { getEventListeners } from 'node:events'
import { describe, expect, it } from 'vitest'
import { LiveFanout } from '../../../../src/providers/shared/live-fanout'
import { MemoryBroker, MemoryProvider } from '../../../../src/providers/memory/memory-provider'
import type { BatchReceiver, Provider, ProviderItem, ResolvedRoute, StartPosition } from '../../../../src/providers/provider'

const route: ResolvedRoute = { kind: 'nats', providerId: 'default', names: ['t.a'] }
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i)

interface OpenRecord {
  start: StartPosition
  finished: boolean
  closed: Promise<void>
}

/**
 * The memory provider, recording every reader it opens and when that reader finished.
 * `hold()` keeps the live readers' batches back until `release()`; a live batch whose
 * text is `fail` makes the live reader throw `failure`, one with `end` ends it.
 */
class Recorded implements Provider {
  readonly opens: OpenRecord[] = []
  readonly failure = new Error('the shared reader broke')
  private held: Promise<void> | undefined
  private releaseHeld: (() => void) | undefined
  /** Position of the last event a live reader's consumer is done with (it asked for more). */
  private liveThrough = 0
  private liveWaiters: (() => void)[] = []

  constructor(private readonly inner: Provider) {}

  get comparePositions(): Provider['comparePositions'] {
    return this.inner.comparePositions
  }

  isValidPosition(position: string, r: ResolvedRoute): boolean {
    return this.inner.isValidPosition(position, r)
  }

  async *open(r: ResolvedRoute, start: StartPosition, signal: AbortSignal): AsyncIterable<ProviderItem[]> {
    let close!: () => void
    const record: OpenRecord = { start, finished: false, closed: new Promise<void>((resolve) => (close = resolve)) }
    this.opens.push(record)
    try {
      for await (const batch of this.inner.open(r, start, signal)) {
        if (start.from === 'live') {
          await this.held
          if (batch.some((item) => item.type === 'event' && item.text === 'fail')) throw this.failure
          if (batch.some((item) => item.type === 'event' && item.text === 'end')) return
        }
        yield batch
        if (start.from === 'live') {
          for (const item of batch) if (item.type === 'event') this.liveThrough = Number(item.position)
          for (const wake of this.liveWaiters.splice(0)) wake()
        }
      }
    } finally {
      record.finished = true
      close()
    }
  }

  /** Resolves once a live reader's consumer has processed the event at `position`. */
  async liveProcessed(position: number): Promise<void> {
    while (this.liveThrough < position) await new Promise<void>((resolve) => this.liveWaiters.push(resolve))
  }

  hold(): void {
    this.held = new Promise((resolve) => (this.releaseHeld = resolve))
  }

  release(): void {
    this.held = undefined
    this.releaseHeld?.()
  }
}

/** A client of one stream: takes batches only when asked to. */
class Client {
  readonly controller = new AbortController()
  private readonly iterator: AsyncIterator<ProviderItem[]>
  private pending: Promise<IteratorResult<ProviderItem[]>> | undefined
  private readonly buffered: ProviderItem[] = []

  constructor(provider: Provider, start: StartPosition, receiver?: BatchReceiver) {
    this.iterator = provider.open(route, start, this.controller.signal, receiver)[Symbol.asyncIterator]()
  }

  /** Whether the batch asked for came through the iterator (without waiting for it). */
  async answered(): Promise<boolean> {
    if (!this.pending) return false
    const marker = Symbol('pending')
    // Settled promises win a race against one that settles after them.
    return (await Promise.race([this.pending, Promise.resolve(marker)])) !== marker
  }

  /** Asks for the next batch without waiting for it (a live stream attaches here). */
  ask(): void {
    this.pending ??= this.iterator.next()
  }

  /** The next `count` items, asking for batches as needed. */
  async take(count: number): Promise<ProviderItem[]> {
    while (this.buffered.length < count) {
      this.ask()
      const result = await this.pending!
      this.pending = undefined
      if (result.done) throw new Error(`the stream ended after ${this.buffered.length} of ${count} items`)
      this.buffered.push(...result.value)
    }
    return this.buffered.splice(0, count)
  }

  /** Resolves when the stream ends (`done`), with what it had left. */
  async end(): Promise<ProviderItem[]> {
    for (;;) {
      this.ask()
      const result = await this.pending!
      this.pending = undefined
      if (result.done) return this.buffered.splice(0)
      this.buffered.push(...result.value)
    }
  }

  listeners(): number {
    return getEventListeners(this.controller.signal, 'abort').length
  }
}

const positions = (items: ProviderItem[]) => items.map((item) => (item.type === 'event' ? Number(item.position) : item.type === 'gap' ? `gap:${item.resumedFrom}` : item.type))

function setup(backlogLimit?: number, batchSize?: number) {
  const broker = new MemoryBroker()
  const recorded = new Recorded(new MemoryProvider(broker, batchSize))
  const fanout = new LiveFanout(recorded, backlogLimit === undefined ? {} : { backlogLimit })
  const publish = (...texts: string[]) => texts.map((text) => broker.publish('t.a', text))
  const live = () => {
    const client = new Client(fanout, { from: 'live' })
    client.ask()
    return client
  }
  return { broker, recorded, fanout, publish, live }
}

/** A receiver that takes batches while `accepting`, recording them, and throws `failOn`'s batch. */
class Receiver implements BatchReceiver {
  readonly taken: ProviderItem[][] = []
  accepting = true
  failOn: string | undefined
  readonly failure = new Error('the receiver failed')

  take(batch: readonly ProviderItem[]): boolean {
    if (batch.some((item) => item.type === 'event' && item.text === this.failOn)) throw this.failure
    if (!this.accepting) return false
    this.taken.push([...batch])
    return true
  }
}

describe('LiveFanout', () => {
  it('gives the live streams of a route one shared reader, each stream every event once, in order', async () => {
    const { broker, recorded, publish, live } = setup()
    const clients = range(1, 20).map(() => live())
    // Events of another subject of the log are not the route's.
    for (const n of range(1, 30)) {
      publish(`{"n":${n}}`)
      broker.publish('t.other', 'x')
    }
    const seen = await Promise.all(clients.map((client) => client.take(30)))
    const expected = seen[0]!.map((item) => (item.type === 'event' ? item.text : ''))
    expect(expected).toEqual(range(1, 30).map((n) => `{"n":${n}}`))
    expect(positions(seen[0]!)).toEqual(range(1, 30).map((n) => 2 * n - 1))
    for (const items of seen) {
      expect(items).toHaveLength(30)
      // The very objects the shared reader read: decoded once for all.
      items.forEach((item, i) => expect(item).toBe(seen[0]![i]))
    }
    expect(recorded.opens).toHaveLength(1)
    expect(recorded.opens[0]!.start).toEqual({ from: 'live' })
    for (const client of clients) client.controller.abort()
    await recorded.opens[0]!.closed
  })

  it('hands a batch to the receiver of a stream waiting for it, and through its iterator otherwise, in order', async () => {
    const { recorded, publish, fanout } = setup()
    const receiver = new Receiver()
    const client = new Client(fanout, { from: 'live' }, receiver)
    const plain = new Client(fanout, { from: 'live' })
    client.ask()
    plain.ask()
    publish('1', '2')
    await recorded.liveProcessed(2)
    expect(receiver.taken.map(positions)).toEqual([[1, 2]])
    expect(await client.answered()).toBe(false)
    // A receiver that refuses (its client has no room) gets the batch through the iterator.
    receiver.accepting = false
    publish('3')
    await recorded.liveProcessed(3)
    expect(positions(await client.take(1))).toEqual([3])
    // Not waiting in next(): the receiver is not offered the batch, which waits for the iterator.
    receiver.accepting = true
    publish('4')
    await recorded.liveProcessed(4)
    expect(receiver.taken).toHaveLength(1)
    expect(positions(await client.take(1))).toEqual([4])
    client.ask()
    publish('5')
    await recorded.liveProcessed(5)
    expect(receiver.taken.map(positions)).toEqual([[1, 2], [5]])
    // The stream without a receiver got every batch through its iterator; both the very items read once.
    const plainItems = await plain.take(5)
    expect(positions(plainItems)).toEqual(range(1, 5))
    expect(receiver.taken[1]![0]).toBe(plainItems[4])
    client.controller.abort()
    plain.controller.abort()
    await recorded.opens[0]!.closed
  })

  it('fails only the stream whose receiver throws', async () => {
    const { recorded, publish, fanout } = setup()
    const failing = new Receiver()
    failing.failOn = '2'
    const other = new Receiver()
    const clients = [new Client(fanout, { from: 'live' }, failing), new Client(fanout, { from: 'live' }, other)]
    for (const client of clients) client.ask()
    publish('1')
    await recorded.liveProcessed(1)
    publish('2')
    await recorded.liveProcessed(2)
    await expect(clients[0]!.take(1)).rejects.toBe(failing.failure)
    expect(clients[0]!.listeners()).toBe(0)
    publish('3')
    await recorded.liveProcessed(3)
    expect(failing.taken.map(positions)).toEqual([[1]])
    expect(other.taken.map(positions)).toEqual([[1], [2], [3]])
    expect(recorded.opens).toHaveLength(1)
    clients[1]!.controller.abort()
    await recorded.opens[0]!.closed
  })

  it('moves a resumed stream that caught up onto the shared reader, and an earliest one too', async () => {
    const { recorded, publish, fanout, live } = setup()
    const head = live()
    publish('1', '2', '3', '4', '5')
    expect(positions(await head.take(5))).toEqual(range(1, 5))

    const resumed = new Client(fanout, { from: 'after', position: '3' })
    expect(positions(await resumed.take(2))).toEqual([4, 5])
    const earliest = new Client(fanout, { from: 'earliest' })
    expect(positions(await earliest.take(5))).toEqual(range(1, 5))
    expect(recorded.opens.map((open) => open.start)).toEqual([{ from: 'live' }, { from: 'after', position: '3' }, { from: 'earliest' }])
    // Asking for more, each finds itself at the shared reader's position and gives up its own reader.
    resumed.ask()
    earliest.ask()
    await recorded.opens[1]!.closed
    await recorded.opens[2]!.closed

    publish('6', '7')
    const [a, b, c] = await Promise.all([head.take(2), resumed.take(2), earliest.take(2)])
    expect(positions(a)).toEqual([6, 7])
    expect(b).toEqual(a)
    expect(c).toEqual(a)
    expect(b[0]).toBe(a[0])
    expect(recorded.opens).toHaveLength(3)
    for (const client of [head, resumed, earliest]) client.controller.abort()
    await recorded.opens[0]!.closed
  })

  it('starts a shared reader once two streams of a route read on their own, and moves both onto it', async () => {
    const { recorded, publish, fanout } = setup()
    publish('1', '2', '3', '4', '5')
    const first = new Client(fanout, { from: 'after', position: '3' })
    expect(positions(await first.take(2))).toEqual([4, 5])
    // One stream alone keeps its own reader: a shared one would only add a consumer.
    expect(recorded.opens).toHaveLength(1)
    const second = new Client(fanout, { from: 'after', position: '4' })
    expect(positions(await second.take(1))).toEqual([5])
    expect(recorded.opens.map((open) => open.start)).toEqual([
      { from: 'after', position: '3' },
      { from: 'live' },
      { from: 'after', position: '4' },
    ])

    publish('6')
    await recorded.liveProcessed(6)
    expect(positions(await first.take(1))).toEqual([6])
    expect(positions(await second.take(1))).toEqual([6])
    first.ask()
    second.ask()
    await recorded.opens[0]!.closed
    await recorded.opens[2]!.closed
    publish('7', '8')
    const [a, b] = await Promise.all([first.take(2), second.take(2)])
    expect(positions(a)).toEqual([7, 8])
    expect(b[0]).toBe(a[0])
    expect(recorded.opens).toHaveLength(3)
    first.controller.abort()
    second.controller.abort()
    await recorded.opens[1]!.closed
  })

  it('does not repeat what a joining stream read on its own ahead of the shared reader', async () => {
    const { recorded, publish, fanout, live } = setup()
    const head = live()
    publish('1', '2', '3')
    expect(positions(await head.take(3))).toEqual([1, 2, 3])
    // The shared reader has read 4..6 but not delivered them yet; the resumed stream reads them itself.
    recorded.hold()
    publish('4', '5', '6')
    const resumed = new Client(fanout, { from: 'after', position: '3' })
    expect(positions(await resumed.take(3))).toEqual([4, 5, 6])
    resumed.ask()
    await recorded.opens[1]!.closed
    recorded.release()
    publish('7')
    expect(positions(await head.take(4))).toEqual([4, 5, 6, 7])
    expect(positions(await resumed.take(1))).toEqual([7])
    expect(recorded.opens).toHaveLength(2)
    head.controller.abort()
    resumed.controller.abort()
    await recorded.opens[0]!.closed
  })

  it('keeps the shared reader for a stream about to join after the last live stream left', async () => {
    const { recorded, publish, fanout, live } = setup(undefined, 1)
    const head = live()
    publish('1', '2', '3')
    expect(positions(await head.take(3))).toEqual([1, 2, 3])
    // One event per batch: the resumed stream is still behind after its first.
    const resumed = new Client(fanout, { from: 'after', position: '1' })
    expect(positions(await resumed.take(1))).toEqual([2])
    head.controller.abort()
    await head.end()
    expect(recorded.opens[0]!.finished).toBe(false)
    expect(positions(await resumed.take(1))).toEqual([3])
    resumed.ask()
    await recorded.opens[1]!.closed
    publish('4')
    expect(positions(await resumed.take(1))).toEqual([4])
    expect(recorded.opens).toHaveLength(2)
    resumed.controller.abort()
    await recorded.opens[0]!.closed
  })

  it('passes a retention gap of a resumed stream on as it is', async () => {
    const broker = new MemoryBroker(5)
    const fanout = new LiveFanout(new MemoryProvider(broker))
    for (const n of range(1, 10)) broker.publish('t.a', String(n))
    const resumed = new Client(fanout, { from: 'after', position: '2' })
    const items = await resumed.take(6)
    expect(items[0]).toEqual({ type: 'gap', requested: '2', resumedFrom: '5', reason: 'retention' })
    expect(positions(items.slice(1))).toEqual(range(6, 10))
    resumed.controller.abort()
    await resumed.end()
  })

  it('detaches a stream that stops taking, which then gets every event once, in order, and rejoins', async () => {
    const { recorded, publish, live } = setup(5)
    const fast = live()
    const slow = live()
    publish('1', '2', '3')
    expect(positions(await fast.take(3))).toEqual([1, 2, 3])
    expect(positions(await slow.take(3))).toEqual([1, 2, 3])
    // One event per shared batch: the slow stream's backlog passes 5 at event 9.
    for (const n of range(4, 20)) {
      publish(String(n))
      expect(positions(await fast.take(1))).toEqual([n])
    }
    expect(recorded.opens).toHaveLength(1)
    expect(recorded.opens[0]!.finished).toBe(false)

    expect(positions(await slow.take(17))).toEqual(range(4, 20))
    // It drained its backlog, then read on its own after the last event it had.
    expect(recorded.opens.map((open) => open.start)).toEqual([{ from: 'live' }, { from: 'after', position: '9' }])
    slow.ask()
    await recorded.opens[1]!.closed
    publish('21')
    expect(positions(await slow.take(1))).toEqual([21])
    expect(positions(await fast.take(1))).toEqual([21])
    expect(recorded.opens).toHaveLength(2)
    fast.controller.abort()
    slow.controller.abort()
    await recorded.opens[0]!.closed
  })

  it('stops the shared reader when its last stream leaves, and leaves no listener behind', async () => {
    const { recorded, publish, live } = setup()
    const first = live()
    const second = live()
    publish('1')
    await Promise.all([first.take(1), second.take(1)])

    first.controller.abort()
    expect(await first.end()).toEqual([])
    publish('2')
    expect(positions(await second.take(1))).toEqual([2])
    expect(recorded.opens[0]!.finished).toBe(false)

    second.controller.abort()
    expect(await second.end()).toEqual([])
    await recorded.opens[0]!.closed
    expect(first.listeners() + second.listeners()).toBe(0)

    // The next live stream starts a reader of its own.
    const third = live()
    publish('3')
    expect(positions(await third.take(1))).toEqual([3])
    expect(recorded.opens).toHaveLength(2)
    third.controller.abort()
    await recorded.opens[1]!.closed
  })

  it('throws the shared reader failure from every stream on it', async () => {
    const { recorded, publish, live } = setup()
    const clients = [live(), live(), live()]
    publish('1', '2')
    for (const client of clients) expect(positions(await client.take(2))).toEqual([1, 2])
    publish('fail')
    for (const client of clients) await expect(client.take(1)).rejects.toBe(recorded.failure)
    await recorded.opens[0]!.closed
    expect(clients.reduce((sum, client) => sum + client.listeners(), 0)).toBe(0)

    // A failed reader is not reused.
    const next = live()
    publish('3')
    expect(positions(await next.take(1))).toEqual([4])
    expect(recorded.opens).toHaveLength(2)
    next.controller.abort()
    await recorded.opens[1]!.closed
  })

  it('ends every stream on it when the shared reader ends', async () => {
    const { recorded, publish, live } = setup()
    const clients = [live(), live()]
    publish('1', 'end')
    for (const client of clients) expect(positions(await client.end())).toEqual([])
    await recorded.opens[0]!.closed
    expect(clients.reduce((sum, client) => sum + client.listeners(), 0)).toBe(0)
  })
})
