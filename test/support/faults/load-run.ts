import { countDeliveries, type Delivery } from './delivery-count'
import { ResumingEventSource } from './eventsource-client'
import { feedUrl, type Feed } from './feed'
import { MemorySampler } from './memory-sampler'
import type { NodeProcess } from './node-process'
import { waitFor } from './wait-for'

/** How long all the streams get to open (their broker reads set up) before the run goes on without the rest. */
const OPEN_WITHIN_MS = 120_000
/** Clients arrive in waves this large, each once the previous one is open: fast, but not all in one instant. */
const WAVE = 100
/** Above the function's retry with jitter (RETRY_MS 2 s plus up to as much again): clients honour it, as browsers do. */
const MAX_RETRY_MS = 10_000
/**
 * The most retained memory that counts as back at `baseline`: 10 % + 2 MiB leaves room for
 * what a GC does not return at once (code compiled meanwhile, caches), about 2 KB per stream
 * at 1,000, while a leak of a stream's state (an open stream costs 35 KB and more) stands out.
 */
export const backToBaseline = (baseline: number) => baseline * 1.1 + 2 * 1_048_576

/** How long the broker side and the memory get to return to their baseline after the clients left. */
const RELEASE_WITHIN_MS = 30_000

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
}

export interface LoadResult {
  provider: string
  streams: number
  holdMs: number
  /** From the first connect until every stream had its first event (or until that wait gave up). */
  openMs: number
  /** Streams that received the first event at all. */
  opened: number
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
  /** The function's log lines by event, and its last warnings and errors. */
  functionLog: Record<string, number>
  problems: string[]
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
  // As many streams opened and closed first: the baseline is that of a function that has held
  // this many streams before (pools and compiled code at their size), so that what stays above it is a leak.
  await warmUp(feed, fn, run, options.streams)
  const baseline = (await fn.memory()).retained
  const sampler = new MemorySampler(fn)

  const published: Delivery[] = []
  let n = 0
  const publishNext = async () => {
    const event = { n: ++n, lane: n % feed.lanes }
    published.push(event)
    await feed.publish(run, [event])
  }

  // The first event reaches a stream only once its broker read is set up: then it is open.
  await publishNext()
  const opened = Date.now()
  const clients = await openInWaves(options.streams, () => {
    const state = { pings: 0, received: [] as Delivery[] }
    const source = new ResumingEventSource({
      url: feedUrl(fn.baseUrl, run, { from: 'earliest' }),
      maxRetryMs: MAX_RETRY_MS,
      onComment: (text) => {
        if (text === ': ping') state.pings++
      },
      onEvent: (event) => {
        if (event.type === 'next') state.received.push((JSON.parse(event.data) as { data: { events: Delivery } }).data.events)
      },
    })
    return { source, state, established: () => state.received.length > 0 }
  })
  const openMs = Date.now() - opened
  const everyoneHas = (count: number) => clients.every((c) => c.state.received.length >= count)
  const openedCount = clients.filter((c) => c.state.received.length > 0).length
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
  await waitFor(() => everyoneHas(published.length), 30_000, 'every stream receives every event').catch(() => {})
  const peakRetained = await sampler.stop()
  const minPings = Math.min(...clients.map((c) => c.state.pings))

  for (const c of clients) c.source.close()
  await Promise.all(clients.map((c) => c.source.finished()))
  const closed = Date.now()
  let heldAfter = await feed.held(run)
  await waitFor(
    async () => Object.values((heldAfter = await feed.held(run))).every((count) => count === 0),
    RELEASE_WITHIN_MS,
    'the broker side holds nothing',
  ).catch(() => {})
  const releaseMs = Date.now() - closed
  // Memory that stays above the baseline after the streams are gone would be a leak.
  let after = (await fn.memory()).retained
  await waitFor(async () => (after = (await fn.memory()).retained) <= backToBaseline(baseline), RELEASE_WITHIN_MS, 'memory back to baseline').catch(() => {})

  const counts = clients.map((c) => countDeliveries(published, c.state.received))
  return {
    provider: feed.provider,
    streams: options.streams,
    holdMs: options.holdMs,
    openMs,
    opened: openedCount,
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
    functionLog: Object.fromEntries(fn.logCounts()),
    problems: fn.problems().slice(-10),
  }
}

/** Streams of their own run, opened as the load's are, that each receive one event, then go. */
async function warmUp(feed: Feed, fn: NodeProcess, run: string, streams: number): Promise<void> {
  const warmRun = `${run}w`
  await feed.prepare(warmRun)
  await feed.publish(warmRun, [{ n: 1, lane: 0 }])
  const clients = await openInWaves(streams, () => {
    let received = false
    const source = new ResumingEventSource({
      url: feedUrl(fn.baseUrl, warmRun, { from: 'earliest' }),
      maxRetryMs: MAX_RETRY_MS,
      onEvent: (event) => {
        if (event.type === 'next') received = true
      },
    })
    return { source, established: () => received }
  })
  for (const { source } of clients) source.close()
  await Promise.all(clients.map(({ source }) => source.finished()))
  // The baseline is taken once the function has let go of them.
  await waitFor(async () => Object.values(await feed.held(warmRun)).every((count) => count === 0), RELEASE_WITHIN_MS, 'the warm-up streams are released')
}

/** Opens `count` clients WAVE at a time, each wave once the one before is established (or OPEN_WITHIN_MS is over). */
async function openInWaves<T extends { established(): boolean }>(count: number, open: () => T): Promise<T[]> {
  const deadline = Date.now() + OPEN_WITHIN_MS
  const clients: T[] = []
  while (clients.length < count) {
    const wave = Array.from({ length: Math.min(WAVE, count - clients.length) }, open)
    clients.push(...wave)
    await waitFor(() => wave.every((c) => c.established()), Math.max(0, deadline - Date.now()), 'a wave of streams opens').catch(() => {})
  }
  return clients
}
