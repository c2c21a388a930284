import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { routeObjectName } from '../../src/edge/route-object'
import type { ResolvedRoute } from '../../src/providers/provider'
import { connectKafkaAdmin } from '../support/kafka/kafka-admin'
import { kafkaEnv, pairQuery as kafkaPairQuery, startKafkaHttp, type Adapter } from '../support/kafka/kafka-fixtures'
import type { JsonRequest } from '../support/kafka/json-http-server'
import { uniqueName } from '../support/random'
import { pairQuery as redisPairQuery, RedisAdmin, redisEnv, streamKey } from '../support/redis'
import { Follower } from '../support/resuming-follower'
import { streamUrl } from '../support/schemas'
import { openSse, type SseConnection } from '../support/sse-client'
import { startUpstashRestServer } from '../support/upstash-rest-server'
import { startWorkerWithRouteObjects, type RouteObjectsTarget } from '../support/workers-route-objects'

// Durable Object fan-out of the brokers read over HTTP, in workerd with the RouteReader object
// bound as the shipped wrangler.toml binds it: Kafka through the test translations of both HTTP
// protocols, Redis Streams through the Upstash REST server, each in front of the real broker. The
// streams of one route read through one object, which polls the route once at the head however
// many streams are attached; their positions are vectors (offsets per partition of two topics,
// entry ids per key), and every stream gets every event once, in each partition's or key's order.

const STREAMS = 50

/** One route of a broker read over HTTP, and what its HTTP server sees of the route's reads. */
interface PolledRoute {
  route: ResolvedRoute
  query: string
  /** Sends events n, each to the partition or key `laneOf(n)` names. */
  publish(ns: number[]): Promise<void>
  laneOf(n: number): string
  /** Read requests of the route started so far (Kafka record fetches, Redis XREADs). */
  readsStarted(): number
  /** Read requests of the route in flight now. */
  readsInFlight(): number
}

interface Broker {
  env: Record<string, string>
  field: string
  /** The in-flight reads of one reader waiting at the head of an idle route: one per partition, or one XREAD. */
  oneReaderWaiting: number
  newRoute(): Promise<PolledRoute>
  close(): Promise<void>
}

/** Two topics of two partitions each: event n goes to topic n % 4 < 2 ? a : b, partition n % 2. */
async function kafkaBroker(adapter: Adapter): Promise<Broker> {
  const admin = await connectKafkaAdmin(inject('kafkaBootstrap'))
  const started: { topic: string; partition: number }[] = []
  const recordRequest = (request: JsonRequest): { topic: string; partition: number } | undefined => {
    if (adapter === 'upstash') {
      if (request.path !== '/fetch') return undefined
      const body = JSON.parse(request.body) as { topic: string; partition: number }
      return { topic: body.topic, partition: body.partition }
    }
    const match = /^\/topics\/([^/]+)\/partitions\/(\d+)\/records$/.exec(request.path)
    return match ? { topic: decodeURIComponent(match[1]!), partition: Number(match[2]) } : undefined
  }
  const http = await startKafkaHttp(inject('kafkaBootstrap'), adapter, {
    intercept: async (request) => {
      const read = recordRequest(request)
      if (read) started.push(read)
      return undefined
    },
  })
  return {
    env: kafkaEnv(adapter, http.url) as Record<string, string>,
    field: 'pair',
    oneReaderWaiting: 4,
    async newRoute() {
      const [a, b] = [uniqueName('oa'), uniqueName('ob')]
      const topics = [`k.${a}`, `k.${b}`]
      for (const topic of topics) await admin.createTopic(topic, 2)
      const ours = (read: { topic: string } | undefined) => read !== undefined && topics.includes(read.topic)
      return {
        route: { kind: 'kafka', providerId: 'default', names: topics },
        query: kafkaPairQuery(a, b),
        publish: async (ns) => {
          for (const [index, topic] of topics.entries()) {
            const mine = ns.filter((n) => Math.floor((n % 4) / 2) === index)
            await admin.produce(topic, mine.map((n) => ({ partition: n % 2, key: `p${n % 2}`, value: { n, p: n % 2, s: n, t: topic } })))
          }
        },
        laneOf: (n) => String(n % 4),
        readsStarted: () => started.filter(ours).length,
        readsInFlight: () => [...http.active].map(recordRequest).filter(ours).length,
      }
    },
    async close() {
      await http.close()
      await admin.close()
    },
  }
}

/** Two stream keys: event n goes to key a or b by n % 2. */
async function redisBroker(): Promise<Broker> {
  const admin = new RedisAdmin(inject('redisPort'))
  const rest = await startUpstashRestServer(inject('redisPort'))
  return {
    env: redisEnv(rest),
    field: 'pair',
    oneReaderWaiting: 1,
    async newRoute() {
      const stream = uniqueName('objects')
      const keys = [streamKey(stream, 'a'), streamKey(stream, 'b')]
      // The tests run one after another: while a route is measured, its reads are the REST server's only requests.
      const ours = (command: readonly string[]) => command[0] === 'XREAD' && command.includes(keys[0]!)
      return {
        route: { kind: 'redis', providerId: 'cache', names: keys },
        query: redisPairQuery(stream),
        publish: async (ns) => {
          await admin.add(keys[0]!, ns.filter((n) => n % 2 === 0).map((n) => ({ n, key: 'a' })))
          await admin.add(keys[1]!, ns.filter((n) => n % 2 === 1).map((n) => ({ n, key: 'b' })))
        },
        laneOf: (n) => String(n % 2),
        readsStarted: () => rest.commands.filter(ours).length,
        readsInFlight: () => rest.inFlight,
      }
    },
    async close() {
      await rest.close()
      admin.close()
    },
  }
}

/** Every event in `ns` once, nothing else from `first` on, and each partition's or key's events in order. */
function expectEveryEventOnce(follower: Follower, ns: number[], laneOf: (n: number) => string, first = 0): void {
  const received = follower.received.filter((n) => n >= first)
  expect(new Set(follower.received).size, 'no event twice').toBe(follower.received.length)
  const missing = ns.filter((n) => !received.includes(n))
  expect([...received].sort((x, y) => x - y), `missing ${missing.length}, in lanes ${[...new Set(missing.map(laneOf))]}`).toEqual(ns)
  for (const lane of new Set(ns.map(laneOf))) {
    const inLane = received.filter((n) => laneOf(n) === lane)
    expect(inLane).toEqual([...inLane].sort((x, y) => x - y))
  }
}

const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i)

/** Reads `connection` to its end, as EventSource would until it reconnects: how many `next` events it got. */
async function drained(connection: SseConnection): Promise<number> {
  let events = 0
  for (let event = await connection.next(); event !== undefined; event = await connection.next()) if (event.event === 'next') events++
  return events
}

describe.each<[string, () => Promise<Broker>]>([
  ['Kafka (Redpanda HTTP Proxy)', () => kafkaBroker('redpanda')],
  ['Kafka (Upstash REST)', () => kafkaBroker('upstash')],
  ['Redis Streams (Upstash REST)', redisBroker],
])('Durable Object fan-out of a %s route on Workers', (_name, startBroker) => {
  let broker: Broker
  let target: RouteObjectsTarget
  let route!: PolledRoute
  let next = 0

  beforeAll(async () => {
    broker = await startBroker()
    // A client that left is noticed by workerd when the next heartbeat cannot be written: soon, with 1 s.
    target = await startWorkerWithRouteObjects({ ...broker.env, HEARTBEAT_SECONDS: '1' })
  })
  afterAll(async () => {
    await target?.close()
    await broker?.close()
  })

  const url = (params: Record<string, string> = {}) => streamUrl(target.baseUrl, route.query, params)
  const publish = (count: number) => {
    const ns = range(next, next + count)
    next += count
    return route.publish(ns)
  }
  const useNewRoute = async () => {
    route = await broker.newRoute()
    next = 0
  }
  const allHave = (followers: Follower[], n: number) => followers.every((f) => f.received.includes(n))
  /** Every stream has as many events from `first` on as were published: partitions and keys arrive each at their own pace. */
  const allHaveAllSince = (followers: Follower[], first: number) => followers.every((f) => f.received.filter((n) => n >= first).length >= next - first)

  /** Live streams, attached: each has received a probe event (published until all have one). */
  async function attachedFollowers(count: number): Promise<Follower[]> {
    const followers = Array.from({ length: count }, () => new Follower(url(), broker.field))
    for (let probes = 0; probes < 200 && followers.some((f) => f.received.length === 0); probes++) {
      await publish(1)
      await expect.poll(() => followers.every((f) => f.received.length > 0), { timeout: 500 }).toBe(true).catch(() => {})
    }
    expect(followers.every((f) => f.received.length > 0)).toBe(true)
    return followers
  }

  /**
   * The route is read by one reader: once an event has reached every stream and the route is
   * idle again, the reads waiting at the head are one reader's (a stream reading on its own
   * would add as many again).
   */
  const oneReaderAtTheHead = async (followers: Follower[]) => {
    await expect
      .poll(
        async () => {
          await publish(1)
          await expect.poll(() => allHave(followers, next - 1), { timeout: 30_000 }).toBe(true)
          await expect.poll(() => route.readsInFlight(), { timeout: 2_000 }).toBe(broker.oneReaderWaiting).catch(() => {})
          return route.readsInFlight()
        },
        { timeout: 30_000 },
      )
      .toBe(broker.oneReaderWaiting)
  }

  it(`${STREAMS} streams on one route: one poll loop, whatever the number of streams; every stream gets every event once, in order`, async () => {
    await useNewRoute()
    const followers = await attachedFollowers(STREAMS)
    try {
      await oneReaderAtTheHead(followers)
      const first = next
      const readsBefore = route.readsStarted()
      await publish(300)
      await expect.poll(() => allHaveAllSince(followers, first), { timeout: 30_000 }).toBe(true)
      // One reader's requests for the whole chunk: a handful per partition or key, where a poll
      // loop per stream would make at least one per stream.
      expect(route.readsStarted() - readsBefore).toBeLessThan(STREAMS)
      for (const follower of followers) expectEveryEventOnce(follower, range(first, next), route.laneOf, first)
      expect(followers.every((f) => f.ends === 0)).toBe(true)
      await oneReaderAtTheHead(followers)
    } finally {
      await Promise.all(followers.map((f) => f.stop()))
    }
    // The last stream gone, the object stops polling.
    await expect.poll(() => route.readsInFlight(), { timeout: 20_000 }).toBe(0)
  })

  it('the object aborted mid-stream: every stream ends without complete and resumes exactly through a new instance', async () => {
    await useNewRoute()
    // One stream read raw, to see how a broken object ends its client's response.
    const watched = await openSse(url())
    const watchedEnds = drained(watched)
    const followers = await attachedFollowers(STREAMS)
    try {
      const first = next
      await publish(100)
      await expect.poll(() => allHaveAllSince(followers, first), { timeout: 30_000 }).toBe(true)
      await target.abortRoute(routeObjectName(route.route))
      // As a cut connection ends: no error frame, no complete (the Worker does not read the body).
      expect(await watchedEnds, 'events the raw stream got before the break').toBeGreaterThan(0)
      expect(watched.raw()).not.toMatch(/event: (complete|error)/)
      await publish(100)
      await expect.poll(() => followers.every((f) => f.ends > 0), { timeout: 30_000 }).toBe(true)
      await publish(100)
      await expect.poll(() => allHaveAllSince(followers, first), { timeout: 60_000 }).toBe(true)
      for (const follower of followers) expectEveryEventOnce(follower, range(first, next), route.laneOf, first)
      // Resumed streams read behind on their own in the new instance, then share its reader again as events flow.
      await oneReaderAtTheHead(followers)
    } finally {
      watched.cut()
      await Promise.all(followers.map((f) => f.stop()))
    }
  })

  it('a stream that starts behind catches up on its own and attaches: nothing lost or repeated', async () => {
    await useNewRoute()
    const followers = await attachedFollowers(10)
    const late = new Follower(url({ from: 'earliest' }), broker.field)
    try {
      await publish(200)
      await expect.poll(() => allHaveAllSince([late], 0), { timeout: 30_000 }).toBe(true)
      // Once caught up it reads through the shared reader: one reader at the head again.
      await oneReaderAtTheHead([late, ...followers])
      await publish(100)
      await expect.poll(() => allHaveAllSince([late], 0), { timeout: 30_000 }).toBe(true)
      expectEveryEventOnce(late, range(0, next), route.laneOf)
      expect(late.ends).toBe(0)
    } finally {
      await Promise.all([...followers, late].map((f) => f.stop()))
    }
  })
})
