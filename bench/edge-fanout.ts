/**
 * Durable Object fan-out on the Workers entry (workerd through Miniflare): N live streams of one
 * JetStream subject, with the RouteReader object bound and without it, counting what the broker
 * holds for them (consumers, NATS connections); then, with the object, live latency (publish →
 * event received by every stream) and the CPU time workerd and the clients spend per delivery. Then N live streams of one Kafka topic (Upstash REST protocol)
 * and of one Redis stream key, counting the route's reads waiting at the head on the HTTP server.
 */
import { readdirSync, readFileSync } from 'node:fs'
import { jetstreamManager } from '@nats-io/jetstream'
import { wsconnect } from '@nats-io/nats-core'
import { connectKafkaAdmin } from '../test/support/kafka/kafka-admin'
import { startKafkaBroker } from '../test/support/kafka/kafka-broker'
import { startKafkaHttp } from '../test/support/kafka/kafka-fixtures'
import { currentNatsServerBinary, startNatsServer } from '../test/support/nats-server'
import { RedisAdmin } from '../test/support/redis'
import { startRedisServer } from '../test/support/redis-server'
import { startTarget, type Target } from '../test/support/targets'
import { startUpstashRestServer } from '../test/support/upstash-rest-server'
import { startWorkerWithRouteObjects } from '../test/support/workers-route-objects'
import { eventType, payload, replayQuery } from './brokers/broker'
import { jetStreamSchema } from './brokers/jetstream'
import { processCpuMicros } from './support/cosmo-router'
import { readSse, type SseReader } from './support/sse-reader'
import { median, percentile, round } from './support/stats'

export interface EdgeFanoutOptions {
  streamsAt: number[]
  /** Live latency at the largest count, with the object. */
  rounds: number
  eventsPerRound: number
  intervalMs: number
}

export interface LiveFigure {
  p50Ms: number
  p99Ms: number
  maxMs: number
  lost: number
  /** CPU time (user + system) per event delivered to one stream, in microseconds: workerd's (the Worker and the object), and the clients'. */
  serverCpuMicros: number
  clientCpuMicros: number
}

export interface BrokerLoad {
  consumers: number
  connections: number
}

export interface EdgeFanoutFigures {
  /** By stream count: the route's JetStream consumers and NATS connections, with the object and without. */
  load: Record<string, { withObject: BrokerLoad; withoutObject: BrokerLoad }>
  /** By stream count, with the object. */
  live: Record<string, LiveFigure>
  /**
   * By broker and stream count: the route's read requests on the HTTP server per published event,
   * once every stream has an event (over 10 events 100 ms apart), with the object and without.
   */
  polled?: Record<'kafka' | 'redis', Record<string, { withObject: number; withoutObject: number }>>
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
const OPEN_CONCURRENCY = 50
/** Events published to count a polled route's read requests per event. */
const EVENTS_PER_READ_COUNT = 10

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

  const figures: EdgeFanoutFigures = { load: {}, live: {} }
  try {
    for (const count of options.streamsAt) {
      const measureLive = (streams: Streams) => streams.latency(options).then((live) => void (figures.live[count] = live))
      const withoutObject = await loadAt((subject) => startTarget('workerd', env(subject)), count)
      const withObject = await loadAt((subject) => startWorkerWithRouteObjects(env(subject)), count, measureLive)
      figures.load[count] = { withObject, withoutObject }
    }
  } finally {
    await nc.close()
    await server.stop()
  }
  figures.polled = { redis: await polledLoad(startRedisRoute, options.streamsAt), kafka: await polledLoad(startKafkaRoute, options.streamsAt) }
  return figures
}

/** A broker read over HTTP, with a new route (topic or stream key) per run. */
interface PolledBroker {
  newRoute(): Promise<{
    env: Record<string, string>
    publish(n: number): void
    /** The route's read requests the HTTP server received so far. */
    readsStarted(): number
  }>
  stop(): Promise<void>
}

async function polledLoad(start: () => Promise<PolledBroker>, streamsAt: number[]): Promise<Record<string, { withObject: number; withoutObject: number }>> {
  const broker = await start()
  const readsWaitingAt = async (target: (env: Record<string, string>) => Promise<Target>, count: number) => {
    const route = await broker.newRoute()
    const running = await target({ ...route.env, HEARTBEAT_SECONDS: '2' })
    const streams = new Streams(`${running.baseUrl}/graphql/stream?${new URLSearchParams({ query: replayQuery })}`, route.publish)
    try {
      await streams.open(count)
      const before = route.readsStarted()
      const last = await streams.publishSpaced(EVENTS_PER_READ_COUNT, 100)
      if (!(await streams.allReceived(last, 30_000))) throw new Error(`not all of ${count} streams received event ${last}`)
      return round((route.readsStarted() - before) / EVENTS_PER_READ_COUNT, 1)
    } finally {
      streams.close()
      await running.close()
    }
  }
  const load: Record<string, { withObject: number; withoutObject: number }> = {}
  try {
    for (const count of streamsAt) {
      const withoutObject = await readsWaitingAt((env) => startTarget('workerd', env), count)
      const withObject = await readsWaitingAt(startWorkerWithRouteObjects, count)
      load[count] = { withObject, withoutObject }
    }
  } finally {
    await broker.stop()
  }
  return load
}

/** Redis Streams behind the Upstash REST server of the tests: its requests in flight are the route's XREADs. */
async function startRedisRoute(): Promise<PolledBroker> {
  const redisServer = await startRedisServer()
  const admin = new RedisAdmin(redisServer.port)
  const rest = await startUpstashRestServer(redisServer.port)
  let run = 0
  return {
    async newRoute() {
      const key = `bench:edge:${++run}`
      return {
        env: {
          SCHEMA: `${eventType}\ntype Subscription { events: Event! @edfs__redisSubscribe(channels: ["${key}"], providerId: "default") }`,
          REDIS_DEFAULT_URL: rest.url,
          REDIS_DEFAULT_TOKEN: rest.token,
        },
        publish: (n) => void admin.add(key, [JSON.parse(payload(n)) as unknown]),
        readsStarted: () => rest.commands.filter((command) => command[0] === 'XREAD' && command.includes(key)).length,
      }
    },
    async stop() {
      await rest.close()
      admin.close()
      await redisServer.stop()
    },
  }
}

/** Kafka behind the Upstash Kafka REST translation of the tests: a topic of one partition per route, its fetches counted. */
async function startKafkaRoute(): Promise<PolledBroker> {
  const kafka = await startKafkaBroker()
  const admin = await connectKafkaAdmin(kafka.bootstrap)
  const fetchesByTopic = new Map<string, number>()
  const http = await startKafkaHttp(kafka.bootstrap, 'upstash', {
    intercept: async (request) => {
      if (request.path !== '/fetch') return undefined
      const { topic } = JSON.parse(request.body) as { topic: string }
      fetchesByTopic.set(topic, (fetchesByTopic.get(topic) ?? 0) + 1)
      return undefined
    },
  })
  let run = 0
  return {
    async newRoute() {
      const topic = `bench-edge-${++run}`
      await admin.createTopic(topic, 1)
      return {
        env: {
          SCHEMA: `${eventType}\ntype Subscription { events: Event! @edfs__kafkaSubscribe(topics: ["${topic}"], providerId: "default") }`,
          KAFKA_DEFAULT_URL: http.url,
          KAFKA_DEFAULT_ADAPTER: 'upstash',
        },
        publish: (n) => void admin.produce(topic, [{ partition: 0, key: 'k', value: JSON.parse(payload(n)) as unknown }]),
        readsStarted: () => fetchesByTopic.get(topic) ?? 0,
      }
    },
    async stop() {
      await http.close()
      await admin.close()
      await kafka.stop()
    },
  }
}

/** Live streams of one route and the receipt of each published event on each of them. */
class Streams {
  private readonly readers: SseReader[] = []
  private readonly receipts = new Map<number, number>()
  private readonly publishedAt = new Map<number, number>()
  private samples: number[] = []
  private last = 0
  private ended = 0
  /** Streams that received at least one event. */
  private withEvents = 0

  constructor(
    private readonly url: string,
    private readonly send: (n: number) => void,
  ) {}

  async open(count: number): Promise<void> {
    while (this.readers.length < count) {
      const batch = Math.min(OPEN_CONCURRENCY, count - this.readers.length)
      const opened = await Promise.all(
        Array.from({ length: batch }, () => {
          let heard = false
          return readSse(this.url, {
            onEvent: (event, at) => {
              if (event.event !== 'next') return
              if (!heard) this.withEvents++
              heard = true
              this.receive(JSON.parse(event.data).data.events.n, at)
            },
          })
        }),
      )
      for (const reader of opened) void reader.ended.then(() => this.ended++)
      this.readers.push(...opened)
    }
    // New streams start at the live end once their reader exists: publish until each has had an event. Any
    // event will do: one event takes ~200 ms to reach 1,000 streams without the object on this machine, so
    // waiting for one and the same event to reach all within a short wait, while publishing the next, never ends.
    for (let attempt = 0; attempt < 100 && this.withEvents < count; attempt++) {
      this.publish()
      const deadline = performance.now() + 2000
      while (this.withEvents < count && performance.now() < deadline) await sleep(20)
    }
    if (this.withEvents < count) throw new Error(`not all of ${count} streams received events: ${this.withEvents} did, ${this.ended} ended`)
  }

  async latency(options: EdgeFanoutOptions): Promise<LiveFigure> {
    const p50: number[] = []
    const p99: number[] = []
    let max = 0
    let lost = 0
    // Only the target measured runs now: the workerd children of this process are its.
    const workerd = workerdProcessIds()
    const workerdCpu = () => workerd.reduce((sum, pid) => sum + processCpuMicros(pid), 0)
    const serverCpuBefore = workerdCpu()
    const clientCpuBefore = process.cpuUsage()
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
    const deliveries = Math.max(1, options.rounds * options.eventsPerRound * this.readers.length - lost)
    const clientCpu = process.cpuUsage(clientCpuBefore)
    return {
      p50Ms: round(median(p50), 2),
      p99Ms: round(median(p99), 2),
      maxMs: round(max, 2),
      lost,
      serverCpuMicros: round((workerdCpu() - serverCpuBefore) / deliveries, 1),
      clientCpuMicros: round((clientCpu.user + clientCpu.system) / deliveries, 1),
    }
  }

  /** Publishes `count` events `intervalMs` apart; returns the last. */
  async publishSpaced(count: number, intervalMs: number): Promise<number> {
    let last = 0
    for (let i = 0; i < count; i++) {
      last = this.publish()
      await sleep(intervalMs)
    }
    return last
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

  async allReceived(n: number, timeoutMs: number): Promise<boolean> {
    const deadline = performance.now() + timeoutMs
    while ((this.receipts.get(n) ?? 0) < this.readers.length && performance.now() < deadline) await sleep(5)
    return (this.receipts.get(n) ?? 0) >= this.readers.length
  }
}

/** The workerd processes Miniflare started from this process. */
function workerdProcessIds(): number[] {
  const pids: number[] = []
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    let stat: string
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8')
    } catch {
      continue // ended since the listing
    }
    // "pid (comm) state ppid ...": the command name may hold spaces, so the fields after it are split from its ") ".
    const [command, rest] = [stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')), stat.slice(stat.lastIndexOf(') ') + 2)]
    if (command === 'workerd' && rest.split(' ')[1] === String(process.pid)) pids.push(Number(entry))
  }
  if (pids.length === 0) throw new Error('no workerd process of this benchmark was found')
  return pids
}
