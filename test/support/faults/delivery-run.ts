import { countDeliveries, type Delivery, type DeliveryCount } from './delivery-count'
import { feedUrl, type FaultKind, type Feed } from './feed'
import { ResumingEventSource, type EventSourceStats } from './eventsource-client'
import { seededRandom } from '../random'

export interface DeliveryRunOptions {
  feed: Feed
  /** The function under test. */
  baseUrl: string
  seed: number
  events: number
  /** Publishing pace, so that faults hit streams that are reading live as well as catching up. */
  eventsPerSecond: number
  /**
   * Of the events, how many are in the log before the clients come (published at once, before
   * any fault): the clients start with a replay, which slow clients are still in when faults strike.
   */
  backlog?: number
  clients: number
  /** Of those, how many read slowly, at `slowBytesPerSecond`. */
  slowClients: number
  slowBytesPerSecond: number
  /** Broker and network faults, at seeded moments of the publishing. */
  faults: number
  /** A client cuts its connection after 1 to this many events (seeded), every connection. */
  eventsBetweenCuts: number
  /** Bound on the `retry:` waits a client honours. */
  maxRetryMs: number
  /** After the last publish, how long the clients get to receive everything. */
  settleMs: number
}

export interface ClientResult extends DeliveryCount, EventSourceStats {
  slow: boolean
  gaps: number
  errorFrames: number
  /** The client had not received the last event of every lane when the run ended. */
  unfinished: boolean
}

export interface InjectedFault {
  kind: FaultKind
  /** The number of events published when it was due (faults queue behind a slow one). */
  atEvent: number
  /** When it struck, from the start of the run. */
  startedAtMs: number
  /** How long it lasted: a stall or blackhole until healed, a restart until the broker was ready. */
  tookMs: number
  /** Clients that were replaying when it struck: more than REPLAYING_SECONDS of publishing behind. */
  replayingClients: number
  /** Clients that were reading live when it struck. */
  liveClients: number
}

/** A client this far behind the producer, in seconds of publishing, is replaying; closer, it reads live. */
export const REPLAYING_SECONDS = 2

export interface DeliveryRunResult {
  provider: string
  seed: number
  published: number
  /** Entries in the broker's log at the end (published once each: the producers deduplicate). */
  logEntries: number
  faults: InjectedFault[]
  clients: ClientResult[]
  durationMs: number
}

/**
 * Publishes `events` numbered events at a steady pace while faults are injected at
 * seeded moments, and several EventSource-like clients (some cutting themselves off,
 * some slow) read the subscription from the earliest event; then counts, per client,
 * what was lost, duplicated and reordered against the broker's log.
 */
export async function runDelivery(options: DeliveryRunOptions): Promise<DeliveryRunResult> {
  const { feed } = options
  const random = seededRandom(options.seed)
  const run = `rel${options.seed}x${Math.floor(random() * 1e9).toString(36)}`
  await feed.prepare(run)
  const started = Date.now()

  // Lanes change in runs of 1 to 8 events, so that merges see every interleaving.
  const events: Delivery[] = []
  for (let n = 1, lane = 0; n <= options.events; n++) {
    if (random() < 0.2) lane = Math.floor(random() * feed.lanes)
    events.push({ n, lane })
  }
  const lastOfLane = new Map(events.map((e) => [e.lane, e.n]))

  // The backlog is in the log before the clients come: they start with its replay.
  const backlog = options.backlog ?? 0
  for (let i = 0; i < backlog; i += 500) await feed.publish(run, events.slice(i, Math.min(i + 500, backlog)))
  let published = backlog
  const paced = Date.now()

  const clients = Array.from({ length: options.clients }, (_, index) => {
    const slow = index < options.slowClients
    const clientRandom = seededRandom(options.seed * 1000 + index)
    const received: Delivery[] = []
    const stats = { gaps: 0, errorFrames: 0, lanesDone: 0, highest: 0 }
    const source = new ResumingEventSource({
      url: feedUrl(options.baseUrl, run, { from: 'earliest' }),
      maxRetryMs: options.maxRetryMs,
      cutAfter: () => 1 + Math.floor(clientRandom() * options.eventsBetweenCuts),
      ...(slow ? { bytesPerSecond: options.slowBytesPerSecond } : {}),
      onEvent(event, self) {
        if (event.type === 'gap') stats.gaps++
        else if (event.type === 'error') stats.errorFrames++
        else if (event.type === 'complete') self.close()
        if (event.type !== 'next') return
        const delivery = (JSON.parse(event.data) as { data: { events: Delivery } }).data.events
        received.push(delivery)
        stats.highest = Math.max(stats.highest, delivery.n)
        if (lastOfLane.get(delivery.lane) === delivery.n && ++stats.lanesDone === lastOfLane.size) self.close()
      },
    })
    return { slow, source, received, stats }
  })

  // Faults run one after another, each at its moment of the publishing after the backlog, every kind in turn in a seeded order.
  const faultCount = feed.faults.length === 0 ? 0 : options.faults
  const live = options.events - backlog
  const moments = Array.from({ length: faultCount }, () => backlog + Math.floor((0.05 + 0.85 * random()) * live)).sort((a, b) => a - b)
  const order = feed.faults.map((_, i) => i).sort(() => random() - 0.5)
  const injected: InjectedFault[] = []
  let faultChain = Promise.resolve()
  const batchSize = Math.max(1, Math.round(options.eventsPerSecond / 20))
  for (let i = backlog; i < events.length; i += batchSize) {
    while (moments.length > 0 && moments[0]! < i + batchSize) {
      moments.shift()
      const fault = feed.faults[order[injected.length % order.length]!]!
      const faultRandom = seededRandom(Math.floor(random() * 2 ** 32))
      const record: InjectedFault = { kind: fault.kind, atEvent: i, startedAtMs: 0, tookMs: 0, replayingClients: 0, liveClients: 0 }
      injected.push(record)
      faultChain = faultChain.then(async () => {
        const begun = Date.now()
        record.startedAtMs = begun - started
        const replaying = clients.filter((c) => published - c.stats.highest > REPLAYING_SECONDS * options.eventsPerSecond).length
        record.replayingClients = replaying
        record.liveClients = clients.length - replaying
        await fault.inject(faultRandom)
        record.tookMs = Date.now() - begun
      })
    }
    await feed.publish(run, events.slice(i, i + batchSize))
    published = Math.min(i + batchSize, events.length)
    const due = paced + ((i - backlog + batchSize) / options.eventsPerSecond) * 1000
    if (due > Date.now()) await new Promise((resolve) => setTimeout(resolve, due - Date.now()))
  }
  await faultChain

  const settled = Promise.all(clients.map((c) => c.source.finished()))
  const deadline = setTimeout(() => clients.forEach((c) => c.source.close()), options.settleMs)
  await settled
  clearTimeout(deadline)

  const log = await feed.readLog(run)
  return {
    provider: feed.provider,
    seed: options.seed,
    published: events.length,
    logEntries: log.length,
    faults: injected,
    clients: clients.map((c) => ({
      slow: c.slow,
      ...countDeliveries(log, c.received),
      ...c.source.stats,
      gaps: c.stats.gaps,
      errorFrames: c.stats.errorFrames,
      unfinished: c.stats.lanesDone < lastOfLane.size,
    })),
    durationMs: Date.now() - started,
  }
}
