/**
 * The Cosmo router side by side with the Node entry: one nats-server, one subject, the same SSE
 * clients. Live: N streams on one server at a time (the other has none open, so it holds no
 * subscription), events published `intervalMs` apart, every stream timing every event; the two
 * servers take turns, `repeats` times each, the order alternating. Replay: one stream reads a
 * JetStream stream from its start through each (the router's JetStream mode: a durable consumer,
 * removed after each read so the next one starts at the beginning again).
 *
 * CPU and RSS are read from /proc for both processes alike; every figure is also given as the
 * Node entry's over the router's, from the same run.
 */
import { jetstream, jetstreamManager } from '@nats-io/jetstream'
import type { NatsConnection } from '@nats-io/nats-core'
import { startJetStream } from './brokers/jetstream'
import { composeRouterConfig, cosmoRouterBinary, COSMO_ROUTER_VERSION, processCpuMicros, processRssBytes, startCosmoRouter } from './support/cosmo-router'
import { startNodeServer } from './support/node-server'
import { readSse, type SseReader } from './support/sse-reader'
import { median, percentile, round } from './support/stats'

export interface RouterBenchOptions {
  streamCounts: number[]
  /** Turns of each server at each count. */
  repeats: number
  eventsPerTurn: number
  intervalMs: number
  replayEvents: number
  replayRounds: number
}

export interface LiveTurn {
  p50Ms: number
  p99Ms: number
  /** Receipts that never came within 5 s of the last event (events × streams). */
  lost: number
  /** Server CPU (user + system) per event delivered to one stream (lost ones not counted), in microseconds. */
  cpuMicrosPerDelivery: number
  /** The server's resident set with the streams open, before the events. */
  rssBytes: number
}

export interface LiveSide {
  /** Medians over the turns; `lost` is the sum. */
  p50Ms: number
  p99Ms: number
  lost: number
  cpuMicrosPerDelivery: number
  rssBytes: number
  turns: LiveTurn[]
}

export type RouterComparison =
  | { unavailable: string }
  | {
      routerVersion: string
      live: Record<string, { edge: LiveSide; router: LiveSide; ratio: { p50: number; p99: number; cpuPerDelivery: number; rss: number } }>
      replay: { edge: { median: number; runs: number[] }; router: { median: number; runs: number[] }; ratio: number }
    }

const LIVE_SUBJECT = 'bench.router'
const REPLAY_SUBJECT = 'bench.router-replay'
const REPLAY_STREAM = 'ROUTER_REPLAY'
const liveQuery = 'subscription { events { n pad } }'
const replayQuery = 'subscription { replay { n pad } }'
const OPEN_CONCURRENCY = 50

/** Event `n`, 100 bytes of JSON; `__typename` names the entity, as the router's event-driven subgraphs expect. */
function routerPayload(n: number): string {
  const head = `{"__typename":"Event","n":${n},"pad":"`
  return `${head}${'x'.repeat(100 - head.length - 2)}"}`
}

const edgeSchema = [
  'type Query { ok: Boolean }',
  'type Event { n: Int! pad: String! }',
  'type Subscription {',
  `  events: Event! @edfs__natsSubscribe(subjects: ["${LIVE_SUBJECT}"], providerId: "default")`,
  `  replay: Event! @edfs__natsSubscribe(subjects: ["${REPLAY_SUBJECT}"], providerId: "default")`,
  '}',
].join('\n')

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

export async function benchRouter(options: RouterBenchOptions, log: (message: string) => void): Promise<RouterComparison> {
  const binary = cosmoRouterBinary()
  if ('unavailable' in binary) return binary
  const executionConfig = await composeRouterConfig()
  const nats = await startJetStream()
  const jsm = await jetstreamManager(nats.nc)
  await jsm.streams.add({ name: 'ROUTER_LIVE', subjects: [LIVE_SUBJECT] })
  await seed(nats.nc, options.replayEvents)
  const edge = await startNodeServer({ SCHEMA: edgeSchema, NATS_DEFAULT_URL: nats.wsUrl })
  const router = await startCosmoRouter(binary.path, executionConfig, nats.natsUrl)
  const servers = {
    edge: { pid: edge.pid, url: (query: string, extra: Record<string, string> = {}) => `${edge.baseUrl}/graphql/stream?${new URLSearchParams({ query, ...extra })}` },
    router: { pid: router.pid, url: (query: string) => `${router.graphqlUrl}?${new URLSearchParams({ query })}` },
  }
  let lastEvent = 0
  try {
    const live: Extract<RouterComparison, { routerVersion: string }>['live'] = {}
    for (const count of options.streamCounts) {
      const turns: Record<'edge' | 'router', LiveTurn[]> = { edge: [], router: [] }
      for (let repeat = 0; repeat < options.repeats; repeat++) {
        const order = repeat % 2 === 0 ? (['edge', 'router'] as const) : (['router', 'edge'] as const)
        for (const side of order) {
          log(`router comparison: ${side}, ${count} streams, turn ${repeat + 1}`)
          turns[side].push(await liveTurn(servers[side].pid, servers[side].url(liveQuery), count))
        }
      }
      const edgeSide = summarize(turns.edge)
      const routerSide = summarize(turns.router)
      live[count] = {
        edge: edgeSide,
        router: routerSide,
        ratio: {
          p50: round(edgeSide.p50Ms / routerSide.p50Ms, 2),
          p99: round(edgeSide.p99Ms / routerSide.p99Ms, 2),
          cpuPerDelivery: round(edgeSide.cpuMicrosPerDelivery / routerSide.cpuMicrosPerDelivery, 2),
          rss: round(edgeSide.rssBytes / routerSide.rssBytes, 2),
        },
      }
    }
    const replayRuns = { edge: [] as number[], router: [] as number[] }
    for (let r = 0; r < options.replayRounds; r++) {
      log(`router comparison: replay round ${r + 1}`)
      const order = r % 2 === 0 ? (['edge', 'router'] as const) : (['router', 'edge'] as const)
      for (const side of order) {
        const url = side === 'edge' ? servers.edge.url(replayQuery, { from: 'earliest' }) : servers.router.url(replayQuery)
        const started = performance.now()
        await readAll(url, options.replayEvents)
        replayRuns[side].push(round(options.replayEvents / ((performance.now() - started) / 1000)))
        if (side === 'router') await removeConsumers(nats.nc)
      }
    }
    const replay = {
      edge: { median: round(median(replayRuns.edge)), runs: replayRuns.edge },
      router: { median: round(median(replayRuns.router)), runs: replayRuns.router },
      ratio: round(median(replayRuns.edge) / median(replayRuns.router), 2),
    }
    return { routerVersion: COSMO_ROUTER_VERSION, live, replay }
  } finally {
    await router.stop()
    await edge.close()
    await nats.stop()
  }

  /** Opens `count` streams on one server, times `eventsPerTurn` events on all of them, closes them. */
  async function liveTurn(pid: number, url: string, count: number): Promise<LiveTurn> {
    const publishedAt = new Map<number, number>()
    const receipts = new Map<number, number>()
    const samples: number[] = []
    const readers: SseReader[] = []
    const publish = () => {
      const n = ++lastEvent
      publishedAt.set(n, performance.now())
      nats.nc.publish(LIVE_SUBJECT, routerPayload(n))
      return n
    }
    let measuring = false
    const onEvent = (n: number, at: number) => {
      receipts.set(n, (receipts.get(n) ?? 0) + 1)
      if (measuring) samples.push(at - publishedAt.get(n)!)
    }
    const allReceived = async (n: number, timeoutMs: number) => {
      const deadline = performance.now() + timeoutMs
      while ((receipts.get(n) ?? 0) < count && performance.now() < deadline) await sleep(5)
      return (receipts.get(n) ?? 0) >= count
    }
    try {
      while (readers.length < count) {
        const batch = Math.min(OPEN_CONCURRENCY, count - readers.length)
        readers.push(
          ...(await Promise.all(
            Array.from({ length: batch }, () =>
              readSse(url, {
                onEvent: (event, at) => {
                  if (event.event !== 'next') return
                  const data = JSON.parse(event.data).data
                  onEvent((data.events ?? data.replay).n, at)
                },
              }),
            ),
          )),
        )
      }
      // A new stream serves what is published once its subscription exists: publish until all have one event.
      let settled = false
      for (let attempt = 0; attempt < 200 && !settled; attempt++) settled = await allReceived(publish(), 250)
      if (!settled) throw new Error(`not all of ${count} streams received events`)
      await sleep(500)
      const rssBytes = processRssBytes(pid)
      const cpuBefore = processCpuMicros(pid)
      measuring = true
      const events: number[] = []
      for (let i = 0; i < options.eventsPerTurn; i++) {
        events.push(publish())
        await sleep(options.intervalMs)
      }
      await allReceived(events.at(-1)!, 5000)
      const cpu = processCpuMicros(pid) - cpuBefore
      measuring = false
      const lost = events.reduce((sum, n) => sum + count - (receipts.get(n) ?? 0), 0)
      return {
        p50Ms: round(percentile(samples, 50), 2),
        p99Ms: round(percentile(samples, 99), 2),
        lost,
        // Per event that reached a stream: a server that drops events does not get them counted as work.
        cpuMicrosPerDelivery: round(cpu / Math.max(1, options.eventsPerTurn * count - lost), 2),
        rssBytes,
      }
    } finally {
      for (const reader of readers) reader.close()
      // Both servers notice the closed streams before the next turn starts.
      await sleep(1000)
    }
  }
}

function summarize(turns: LiveTurn[]): LiveSide {
  return {
    p50Ms: round(median(turns.map((turn) => turn.p50Ms)), 2),
    p99Ms: round(median(turns.map((turn) => turn.p99Ms)), 2),
    lost: turns.reduce((sum, turn) => sum + turn.lost, 0),
    cpuMicrosPerDelivery: round(median(turns.map((turn) => turn.cpuMicrosPerDelivery)), 2),
    rssBytes: round(median(turns.map((turn) => turn.rssBytes))),
    turns,
  }
}

async function seed(nc: NatsConnection, events: number): Promise<void> {
  await (await jetstreamManager(nc)).streams.add({ name: REPLAY_STREAM, subjects: [REPLAY_SUBJECT] })
  const js = jetstream(nc)
  for (let first = 1; first <= events; first += 2000) {
    const acks: Promise<unknown>[] = []
    for (let n = first; n <= Math.min(events, first + 1999); n++) acks.push(js.publish(REPLAY_SUBJECT, routerPayload(n)))
    await Promise.all(acks)
  }
}

/** The router's durable consumers remember what was read: without them the next replay starts at the beginning. */
async function removeConsumers(nc: NatsConnection): Promise<void> {
  const jsm = await jetstreamManager(nc)
  for await (const consumer of jsm.consumers.list(REPLAY_STREAM)) await jsm.consumers.delete(REPLAY_STREAM, consumer.name)
}

/** Reads `total` events of one stream and closes it. */
async function readAll(url: string, total: number): Promise<void> {
  let read = 0
  let finish!: () => void
  const finished = new Promise<void>((resolve) => (finish = resolve))
  const reader = await readSse(url, {
    onEvent(event) {
      if (event.event !== 'next') return
      JSON.parse(event.data)
      if (++read === total) finish()
    },
  })
  await Promise.race([finished, reader.ended.then(() => Promise.reject(new Error(`the stream ended after ${read} of ${total} events: ${url}`)))])
  reader.close()
}
