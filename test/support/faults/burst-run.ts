import { countDeliveries, type Delivery } from './delivery-count'
import { ResumingEventSource } from './eventsource-client'
import { feedUrl, type Feed } from './feed'
import { MemorySampler } from './memory-sampler'
import type { NodeProcess } from './node-process'
import { waitFor } from './wait-for'

/** How long the broker side and the function's log get to catch up after the clients left. */
const RELEASE_WITHIN_MS = 30_000
/** Published per call: the log is written before the burst, as fast as the broker takes it. */
const PUBLISH_CHUNK = 1000

export interface BurstOptions {
  feed: Feed
  /** The Node entry, started with MAX_STREAMS = `maxStreams`. */
  fn: NodeProcess
  seed: number
  maxStreams: number
  /** Clients that subscribe at the same moment: several times `maxStreams`. */
  clients: number
  /** In the log before the burst; every client reads all of them from the earliest. */
  events: number
  /** Bounds the `Retry-After` and `retry:` waits of the clients. */
  maxRetryMs: number
  /** How long all clients get to finish. */
  settleMs: number
}

export interface BurstResult {
  provider: string
  maxStreams: number
  clients: number
  events: number
  /** First answers: event streams, and 503 OVERLOADED. */
  acceptedFirst: number
  refusedFirst: number
  /** Event streams opened and 503 OVERLOADED answers, over the whole run, as the clients saw them. */
  opens: number
  overloaded: number
  /** The most streams the clients held open at one moment, as they saw it (their closes trail when they read behind). */
  mostOpenAtOnce: number
  /** The most streams the function held open at one moment, by its log. */
  mostOpenInFunction: number
  /** Clients that received every event (and then closed). */
  finished: number
  /** Clients that failed for good, with their reason. */
  failures: string[]
  lost: number
  duplicated: number
  reordered: number
  /** The function's log: streams it opened and requests it refused as overloaded. */
  loggedOpens: number
  loggedOverloaded: number
  baselineRetainedBytes: number
  peakRetainedBytes: number
  afterRetainedBytes: number
  peakRssBytes: number
  heldAfter: Record<string, number>
  durationMs: number
  functionLog: Record<string, number>
  problems: string[]
}

/**
 * `clients` subscriptions arrive at once at a function that holds at most `maxStreams`:
 * the first `maxStreams` get their stream, the rest 503 OVERLOADED and come back after
 * `Retry-After`, again and again until a slot is free. Each stream replays the whole log
 * and closes once it has every event, but not before every client had its first answer,
 * so that the first round is the burst itself.
 */
export async function runBurst(options: BurstOptions): Promise<BurstResult> {
  const { feed, fn } = options
  const run = `bu${options.seed}x${Date.now().toString(36)}`
  await feed.prepare(run)
  for (let from = 1; from <= options.events; from += PUBLISH_CHUNK) {
    const chunk = Array.from({ length: Math.min(PUBLISH_CHUNK, options.events - from + 1) }, (_, i) => ({ n: from + i, lane: (from + i) % feed.lanes }))
    await feed.publish(run, chunk)
  }
  const log = await feed.readLog(run)

  const baseline = (await fn.memory()).retained
  const logged = (event: string) => fn.logCounts().get(event) ?? 0
  const logBefore = { opens: logged('stream.open'), overloaded: logged('stream.overloaded') }
  const sampler = new MemorySampler(fn)
  const started = Date.now()

  let answered = 0
  let everyoneAnswered!: () => void
  const firstRound = new Promise<void>((resolve) => (everyoneAnswered = resolve))
  let open = 0
  let mostOpenAtOnce = 0
  let opens = 0
  const clients = Array.from({ length: options.clients }, () => {
    const state = { first: undefined as 'open' | 'overloaded' | undefined, received: [] as Delivery[], done: false }
    const source: ResumingEventSource = new ResumingEventSource({
      url: feedUrl(fn.baseUrl, run, { from: 'earliest' }),
      maxRetryMs: options.maxRetryMs,
      retryOverloaded: true,
      onConnection: (answer) => {
        if (answer === 'open') {
          opens++
          mostOpenAtOnce = Math.max(mostOpenAtOnce, ++open)
        }
        if (answer === 'closed') open--
        if (answer !== 'closed' && state.first === undefined) {
          state.first = answer
          if (++answered === options.clients) everyoneAnswered()
        }
      },
      onEvent: (event) => {
        if (event.type !== 'next') return
        state.received.push((JSON.parse(event.data) as { data: { events: Delivery } }).data.events)
        if (state.received.length === log.length) {
          state.done = true
          void firstRound.then(() => source.close())
        }
      },
    })
    return { source, state }
  })

  await waitFor(() => clients.every((c) => c.state.done), options.settleMs, 'every client has every event').catch(() => {})
  // Those that could not finish in time are closed too (and counted as unfinished).
  everyoneAnswered()
  for (const c of clients) c.source.close()
  await Promise.all(clients.map((c) => c.source.finished()))
  const durationMs = Date.now() - started
  const peakRetained = await sampler.stop()

  const opensLogged = () => logged('stream.open') - logBefore.opens
  const overloadedLogged = () => logged('stream.overloaded') - logBefore.overloaded
  const overloaded = clients.reduce((sum, c) => sum + c.source.stats.overloaded, 0)
  // The function's log lines arrive through a pipe: they may trail the clients' answers.
  await waitFor(() => opensLogged() >= opens && overloadedLogged() >= overloaded, RELEASE_WITHIN_MS, 'the function logged every answer').catch(() => {})
  let heldAfter = await feed.held(run)
  await waitFor(
    async () => Object.values((heldAfter = await feed.held(run))).every((count) => count === 0),
    RELEASE_WITHIN_MS,
    'the broker side holds nothing',
  ).catch(() => {})
  const after = (await fn.memory()).retained

  const counts = clients.map((c) => countDeliveries(log, c.state.received))
  return {
    provider: feed.provider,
    maxStreams: options.maxStreams,
    clients: options.clients,
    events: log.length,
    acceptedFirst: clients.filter((c) => c.state.first === 'open').length,
    refusedFirst: clients.filter((c) => c.state.first === 'overloaded').length,
    opens,
    overloaded,
    mostOpenAtOnce,
    mostOpenInFunction: fn.mostOpenAtOnce(),
    finished: clients.filter((c) => c.state.done).length,
    failures: clients.flatMap((c) => (c.source.stats.failed === undefined ? [] : [c.source.stats.failed])),
    lost: counts.reduce((sum, c) => sum + c.lost, 0),
    duplicated: counts.reduce((sum, c) => sum + c.duplicated, 0),
    reordered: counts.reduce((sum, c) => sum + c.reordered, 0),
    loggedOpens: opensLogged(),
    loggedOverloaded: overloadedLogged(),
    baselineRetainedBytes: baseline,
    peakRetainedBytes: peakRetained,
    afterRetainedBytes: after,
    peakRssBytes: fn.peakRss(),
    heldAfter,
    durationMs,
    functionLog: Object.fromEntries(fn.logCounts()),
    problems: fn.problems().filter((line) => !line.includes('"stream.overloaded"')).slice(-10),
  }
}
