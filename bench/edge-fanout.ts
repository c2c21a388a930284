/**
 * Durable Object fan-out on the Workers entry (workerd through Miniflare): N live streams of one
 * JetStream subject, with the RouteReader object bound and without it, counting what the broker
 * holds for them (consumers, NATS connections); then, with the object, live latency (publish →
 * event received by every stream).
 */
import { jetstreamManager } from '@nats-io/jetstream'
import { wsconnect } from '@nats-io/nats-core'
import { currentNatsServerBinary, startNatsServer } from '../test/support/nats-server'
import { startTarget, type Target } from '../test/support/targets'
import { startWorkerWithRouteObjects } from '../test/support/workers-route-objects'
import { payload, replayQuery } from './brokers/broker'
import { jetStreamSchema } from './brokers/jetstream'
import { readSse, type SseReader } from './support/sse-reader'
import { median, percentile, round } from './support/stats'

export interface EdgeFanoutOptions {
  streamsAt: number[]
  /** Live latency at the largest count, with the object. */
  rounds: number
  eventsPerRound: number
  intervalMs: number
}

export interface BrokerLoad {
  consumers: number
  connections: number
}

export interface EdgeFanoutFigures {
  /** By stream count: the route's JetStream consumers and NATS connections, with the object and without. */
  load: Record<string, { withObject: BrokerLoad; withoutObject: BrokerLoad }>
  live: { streams: number; p50Ms: number; p99Ms: number; maxMs: number; lost: number }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
const OPEN_CONCURRENCY = 50

export async function benchEdgeFanout(options: EdgeFanoutOptions): Promise<EdgeFanoutFigures> {
  const server = await startNatsServer(currentNatsServerBinary())
  const nc = await wsconnect({ servers: server.wsUrl, noAsyncTraces: true })
  const jsm = await jetstreamManager(nc)
  const env = (subject: string) => ({ SCHEMA: jetStreamSchema(subject), NATS_DEFAULT_URL: server.wsUrl, HEARTBEAT_SECONDS: '2' })
  const connections = async () => ((await (await fetch(`${server.monitorUrl}/connz`)).json()) as { num_connections: number }).num_connections
  let run = 0

  /** Opens `count` live streams of a subject of their own and waits until each received an event. */
  async function loadAt(target: (subject: string) => Promise<Target>, count: number, keepOpen?: (streams: Streams) => Promise<void>): Promise<BrokerLoad> {
    const name = `EDGE${++run}`
    const subject = `bench.edge.${run}`
    await jsm.streams.add({ name, subjects: [subject] })
    const running = await target(subject)
    const streams = new Streams(`${running.baseUrl}/graphql/stream?${new URLSearchParams({ query: replayQuery })}`, (n) => nc.publish(subject, payload(n)))
    try {
      await streams.open(count)
      const load = { consumers: (await jsm.streams.info(name)).state.consumer_count, connections: (await connections()) - 1 }
      await keepOpen?.(streams)
      return load
    } finally {
      streams.close()
      await running.close()
      await jsm.streams.delete(name)
    }
  }

  const figures: EdgeFanoutFigures = { load: {}, live: { streams: 0, p50Ms: 0, p99Ms: 0, maxMs: 0, lost: 0 } }
  try {
    const largest = Math.max(...options.streamsAt)
    for (const count of options.streamsAt) {
      const measureLive = count === largest ? (streams: Streams) => streams.latency(options).then((live) => void (figures.live = { streams: count, ...live })) : undefined
      const withoutObject = await loadAt((subject) => startTarget('workerd', env(subject)), count)
      const withObject = await loadAt((subject) => startWorkerWithRouteObjects(env(subject)), count, measureLive)
      figures.load[count] = { withObject, withoutObject }
    }
  } finally {
    await nc.close()
    await server.stop()
  }
  return figures
}

/** Live streams of one route and the receipt of each published event on each of them. */
class Streams {
  private readonly readers: SseReader[] = []
  private readonly receipts = new Map<number, number>()
  private readonly publishedAt = new Map<number, number>()
  private samples: number[] = []
  private last = 0
  private ended = 0

  constructor(
    private readonly url: string,
    private readonly send: (n: number) => void,
  ) {}

  async open(count: number): Promise<void> {
    while (this.readers.length < count) {
      const batch = Math.min(OPEN_CONCURRENCY, count - this.readers.length)
      const opened = await Promise.all(
        Array.from({ length: batch }, () =>
          readSse(this.url, { onEvent: (event, at) => event.event === 'next' && this.receive(JSON.parse(event.data).data.events.n, at) }),
        ),
      )
      for (const reader of opened) void reader.ended.then(() => this.ended++)
      this.readers.push(...opened)
    }
    // New streams start at the live end once their reader exists: publish until all have an event.
    for (let attempt = 0; attempt < 400; attempt++) if (await this.allReceived(this.publish(), 250)) return
    throw new Error(`not all of ${count} streams received events: ${this.receipts.get(this.last) ?? 0} got the last, ${this.ended} ended`)
  }

  async latency(options: EdgeFanoutOptions): Promise<{ p50Ms: number; p99Ms: number; maxMs: number; lost: number }> {
    const p50: number[] = []
    const p99: number[] = []
    let max = 0
    let lost = 0
    for (let round_ = 0; round_ < options.rounds; round_++) {
      this.samples = []
      const events: number[] = []
      for (let i = 0; i < options.eventsPerRound; i++) {
        events.push(this.publish())
        await sleep(options.intervalMs)
      }
      await this.allReceived(events.at(-1) ?? 0, 10_000)
      lost += events.reduce((sum, n) => sum + this.readers.length - (this.receipts.get(n) ?? 0), 0)
      p50.push(percentile(this.samples, 50))
      p99.push(percentile(this.samples, 99))
      max = Math.max(max, ...this.samples)
    }
    return { p50Ms: round(median(p50), 2), p99Ms: round(median(p99), 2), maxMs: round(max, 2), lost }
  }

  close(): void {
    for (const reader of this.readers) reader.close()
  }

  private receive(n: number, at: number): void {
    this.receipts.set(n, (this.receipts.get(n) ?? 0) + 1)
    const published = this.publishedAt.get(n)
    if (published !== undefined) this.samples.push(at - published)
  }

  private publish(): number {
    const n = ++this.last
    this.publishedAt.set(n, performance.now())
    this.send(n)
    return n
  }

  private async allReceived(n: number, timeoutMs: number): Promise<boolean> {
    const deadline = performance.now() + timeoutMs
    while ((this.receipts.get(n) ?? 0) < this.readers.length && performance.now() < deadline) await sleep(5)
    return (this.receipts.get(n) ?? 0) >= this.readers.length
  }
}
