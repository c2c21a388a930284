import { countDeliveries, type Delivery } from './delivery-count'
import { ResumingEventSource } from './eventsource-client'
import { feedUrl, type Feed } from './feed'
import { MemorySampler } from './memory-sampler'
import type { NodeProcess } from './node-process'
import { waitFor } from './wait-for'

const WARM_UP_STREAMS = 20

export interface LoadOptions {
  feed: Feed
  fn: NodeProcess
  seed: number
  streams: number
  holdMs: number
  /** The function's HEARTBEAT_SECONDS, in ms: each stream must see a ping at this pace. */
  heartbeatMs: number
  /** Events published, evenly spread, while the streams are held: every stream must get each. */
  eventsDuringHold: number
  /** How long the broker side and the memory get to return to their baseline after the clients left. */
  releaseWithinMs: number
}

export interface LoadResult {
  provider: string
  streams: number
  holdMs: number
  /** From the first connect until every stream had its first event. */
  openMs: number
  /** Fewest pings any stream received while held. */
  minPings: number
  /** Streams that had to reconnect while held (the function ended them). */
  reconnectedStreams: number
  lost: number
  duplicated: number
  reordered: number
  baselineRetainedBytes: number
  peakRetainedBytes: number
  afterRetainedBytes: number
  peakRssBytes: number
  /** What the broker side held at the peak, and after the clients left. */
  heldWhileOpen: Record<string, number>
  heldAfter: Record<string, number>
  /** From closing the last client until the broker side held nothing. */
  releaseMs: number
}

/**
 * Holds `streams` concurrent subscriptions on the Node entry with heartbeats, with
 * events flowing, then closes them all; counts on the broker side that every
 * consumer and connection went away, and that the function's memory went back.
 */
export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const { feed, fn } = options
  const run = `ld${options.seed}x${Date.now().toString(36)}`
  await feed.prepare(run)
  // One stream opened and closed first, so that the baseline is that of a warm function.
  await warmUp(feed, fn, run)
  const baseline = (await fn.memory()).retained
  const sampler = new MemorySampler(fn)

  const published: Delivery[] = []
  let n = 0
  const publishNext = async () => {
    const event = { n: ++n, lane: n % feed.lanes }
    published.push(event)
    await feed.publish(run, [event])
  }

  const clients = Array.from({ length: options.streams }, () => {
    const state = { pings: 0, received: [] as Delivery[] }
    const source = new ResumingEventSource({
      url: feedUrl(fn.baseUrl, run, { from: 'earliest' }),
      maxRetryMs: 1000,
      onComment: (text) => {
        if (text === ': ping') state.pings++
      },
      onEvent: (event) => {
        if (event.type === 'next') state.received.push((JSON.parse(event.data) as { data: { events: Delivery } }).data.events)
      },
    })
    return { source, state }
  })
  const opened = Date.now()
  const everyoneHas = (count: number) => clients.every((c) => c.state.received.length >= count)
  // The first event reaches a stream only once its broker read is set up: then all are open.
  await publishNext()
  await waitFor(() => everyoneHas(1), 120_000, 'every stream receives the first event')
  const openMs = Date.now() - opened
  for (const c of clients) c.state.pings = 0

  const heldFrom = Date.now()
  let heldWhileOpen = await feed.held(run)
  for (let i = 1; i <= options.eventsDuringHold; i++) {
    const due = heldFrom + (i * options.holdMs) / (options.eventsDuringHold + 1)
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, due - Date.now())))
    // Counted between two events, when every stream is waiting on the broker.
    if (i === Math.ceil(options.eventsDuringHold / 2)) heldWhileOpen = await feed.held(run)
    await publishNext()
  }
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, heldFrom + options.holdMs - Date.now())))
  await waitFor(() => everyoneHas(published.length), 30_000, 'every stream receives every event')
  const peakRetained = await sampler.stop()
  const minPings = Math.min(...clients.map((c) => c.state.pings))

  for (const c of clients) c.source.close()
  await Promise.all(clients.map((c) => c.source.finished()))
  const closed = Date.now()
  let heldAfter = await feed.held(run)
  await waitFor(
    async () => Object.values((heldAfter = await feed.held(run))).every((count) => count === 0),
    options.releaseWithinMs,
    'the broker side holds nothing',
  ).catch(() => {})
  const releaseMs = Date.now() - closed
  // Memory that stays above the baseline after the streams are gone would be a leak.
  let after = (await fn.memory()).retained
  await waitFor(async () => (after = (await fn.memory()).retained) <= baseline * 1.05 + 1_048_576, options.releaseWithinMs, 'memory back to baseline').catch(() => {})

  const counts = clients.map((c) => countDeliveries(published, c.state.received))
  return {
    provider: feed.provider,
    streams: options.streams,
    holdMs: options.holdMs,
    openMs,
    minPings,
    reconnectedStreams: clients.filter((c) => c.source.stats.connects > 1).length,
    lost: counts.reduce((sum, c) => sum + c.lost, 0),
    duplicated: counts.reduce((sum, c) => sum + c.duplicated, 0),
    reordered: counts.reduce((sum, c) => sum + c.reordered, 0),
    baselineRetainedBytes: baseline,
    peakRetainedBytes: peakRetained,
    afterRetainedBytes: after,
    peakRssBytes: fn.peakRss(),
    heldWhileOpen,
    heldAfter,
    releaseMs,
  }
}

/** Streams of their own run that each receive one event, then go: the code paths of the load are compiled. */
async function warmUp(feed: Feed, fn: NodeProcess, run: string): Promise<void> {
  const warmRun = `${run}w`
  await feed.prepare(warmRun)
  await feed.publish(warmRun, [{ n: 1, lane: 0 }])
  const sources = Array.from(
    { length: WARM_UP_STREAMS },
    () =>
      new ResumingEventSource({
        url: feedUrl(fn.baseUrl, warmRun, { from: 'earliest' }),
        maxRetryMs: 1000,
        onEvent: (event, self) => {
          if (event.type === 'next') self.close()
        },
      }),
  )
  await Promise.all(sources.map((source) => source.finished()))
}
