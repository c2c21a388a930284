import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { connectKafkaAdmin, type KafkaAdmin } from '../support/kafka/kafka-admin'
import { kafkaEnv, singleQuery as kafkaQuery, startKafkaHttp, type Adapter, type KafkaHttp } from '../support/kafka/kafka-fixtures'
import { uniqueName } from '../support/random'
import { pairQuery as redisQuery, RedisAdmin, redisEnv, streamKey } from '../support/redis'
import { Follower } from '../support/resuming-follower'
import { streamUrl } from '../support/schemas'
import { followAcrossCleanEnds, openSse, readNextEvents } from '../support/sse-client'
import { startUpstashRestServer, type UpstashRestServer } from '../support/upstash-rest-server'
import { startLimitedWorker, type LimitedTarget } from '../support/workers-limits'

// Streams that poll over HTTP on Workers, under Cloudflare's per-invocation limits as the harness
// imposes them (the Free plan's 50 subrequests, 6 connections): each stream ends cleanly before
// the platform would fail a request, and the client, resuming as EventSource does, gets every event
// once, in order, across several budgets.

const CHUNKS = 4
const CHUNK = 30
const TOTAL = CHUNKS * CHUNK

interface Broker {
  env: Record<string, string>
  query: string
  /** Sends events n (a chunk), each as `{n, …}`, spread over the route's partitions or keys. */
  publish(ns: number[]): Promise<void>
  /** The partition or key an event went to, for the order check. */
  laneOf(payload: { n: number }): string
  close(): Promise<void>
}

async function kafkaBroker(adapter: Adapter): Promise<Broker> {
  const admin: KafkaAdmin = await connectKafkaAdmin(inject('kafkaBootstrap'))
  const http: KafkaHttp = await startKafkaHttp(inject('kafkaBootstrap'), adapter)
  const topic = uniqueName('limits')
  await admin.createTopic(`k.${topic}`, 3)
  return {
    // Short polls spend subrequests fast while the topic is idle: several budgets go by in seconds.
    env: kafkaEnv(adapter, http.url, { KAFKA_DEFAULT_POLL_TIMEOUT_MS: '100' }) as Record<string, string>,
    query: kafkaQuery(topic),
    publish: (ns) => admin.produce(`k.${topic}`, ns.map((n) => ({ partition: n % 3, key: `k${n % 3}`, value: { n, p: n % 3, s: n, t: 'a' } }))),
    laneOf: (payload) => String(payload.n % 3),
    close: async () => {
      await http.close()
      await admin.close()
    },
  }
}

async function redisBroker(): Promise<Broker> {
  const admin = new RedisAdmin(inject('redisPort'))
  const rest: UpstashRestServer = await startUpstashRestServer(inject('redisPort'))
  const stream = uniqueName('limits')
  return {
    env: { ...redisEnv(rest), REDIS_CACHE_BLOCK_MS: '100' },
    query: redisQuery(stream),
    publish: async (ns) => {
      await admin.add(streamKey(stream, 'a'), ns.filter((n) => n % 2 === 0).map((n) => ({ n, key: 'a' })))
      await admin.add(streamKey(stream, 'b'), ns.filter((n) => n % 2 === 1).map((n) => ({ n, key: 'b' })))
    },
    laneOf: (payload) => String(payload.n % 2),
    close: async () => {
      await rest.close()
      admin.close()
    },
  }
}

describe.each<[string, () => Promise<Broker>]>([
  ['Kafka (Upstash REST)', () => kafkaBroker('upstash')],
  ['Kafka (Redpanda HTTP Proxy)', () => kafkaBroker('redpanda')],
  ['Redis Streams (Upstash REST)', redisBroker],
])('a %s stream on Workers under the Free plan’s limits', (_name, startBroker) => {
  let broker: Broker
  let target: LimitedTarget

  beforeAll(async () => {
    broker = await startBroker()
    target = await startLimitedWorker({ ...broker.env, MAX_SUBREQUESTS: '50' }, 50)
  })
  afterAll(async () => {
    await target?.close()
    await broker?.close()
  })

  it('ends before its 51st subrequest and resumes, over several budgets: 0 lost, 0 duplicated', async () => {
    const received: { n: number }[] = []
    // Ended by the server: cleanly, as at MAX_STREAM_SECONDS (EventSource reconnects by itself).
    const following = followAcrossCleanEnds(
      (lastEventId) => streamUrl(target.baseUrl, broker.query, lastEventId === undefined ? { from: 'earliest' } : {}),
      (data) => received.push(data[broker.query.includes('pair') ? 'pair' : 'single'] as { n: number }) === TOTAL,
      200,
    )
    for (let chunk = 0; chunk < CHUNKS; chunk++) {
      await broker.publish(Array.from({ length: CHUNK }, (_, i) => chunk * CHUNK + i))
      // Each chunk is published once the stream has taken the last and spent a whole budget since.
      const endsBefore = following.ends()
      await expect.poll(() => received.length, { timeout: 30_000 }).toBe((chunk + 1) * CHUNK)
      if (chunk < CHUNKS - 1) await expect.poll(() => following.ends(), { timeout: 30_000 }).toBeGreaterThan(endsBefore)
    }
    await following.done

    expect(received.map((p) => p.n).sort((a, b) => a - b)).toEqual(Array.from({ length: TOTAL }, (_, n) => n))
    for (const lane of new Set(received.map(broker.laneOf))) {
      const ns = received.filter((p) => broker.laneOf(p) === lane).map((p) => p.n)
      expect(ns).toEqual([...ns].sort((a, b) => a - b))
    }
    expect(following.ends()).toBeGreaterThanOrEqual(CHUNKS - 1)
    const stats = await target.stats()
    // The platform never had to fail a request, and no connection ever waited for one of the 6.
    expect(stats.refused).toBe(0)
    expect(stats.largestInvocation).toBeLessThanOrEqual(50)
    expect(stats.largestInvocation).toBeGreaterThan(40)
    expect(stats.connectionWaits).toBe(0)
    expect(stats.largestOpen).toBeLessThanOrEqual(6)
  })
})

describe('the harness', () => {
  it('fails the 51st subrequest as Cloudflare does when MAX_SUBREQUESTS is above the plan’s limit', async () => {
    const broker = await kafkaBroker('upstash')
    const target = await startLimitedWorker({ ...broker.env, MAX_SUBREQUESTS: '200' }, 50)
    try {
      const connection = await openSse(streamUrl(target.baseUrl, broker.query))
      const events = await readNextEvents(connection, 1)
      connection.cut()
      expect(events).toHaveLength(0)
      expect(connection.raw()).toContain('"code":"UPSTREAM_UNAVAILABLE"')
      expect((await target.stats()).refused).toBeGreaterThan(0)
    } finally {
      await target.close()
      await broker.close()
    }
  })
})

describe('a Redis Streams stream on Workers under an event budget (MAX_STREAM_EVENTS, for CPU time)', () => {
  it('ends after the batch that reaches the budget and resumes exactly: 0 lost, 0 duplicated', async () => {
    const broker = await redisBroker()
    const target = await startLimitedWorker({ ...broker.env, MAX_STREAM_EVENTS: '25' }, 10_000)
    const follower = new Follower(streamUrl(target.baseUrl, broker.query, { from: 'earliest' }), 'pair')
    try {
      // Chunks of 10, each once the last arrived: a connection's batches stay small, so it ends within a chunk past 25.
      for (let chunk = 0; chunk < TOTAL / 10; chunk++) {
        await broker.publish(Array.from({ length: 10 }, (_, i) => chunk * 10 + i))
        await expect.poll(() => follower.received.length, { timeout: 30_000 }).toBe((chunk + 1) * 10)
      }
      // Ended without complete (the follower checks) after every 25 to 34 events, and resumed from its last id each time.
      expect(follower.ends).toBeGreaterThanOrEqual(Math.floor(TOTAL / 35))
      expect([...follower.received].sort((a, b) => a - b)).toEqual(Array.from({ length: TOTAL }, (_, n) => n))
      for (const lane of [0, 1]) {
        const ns = follower.received.filter((n) => n % 2 === lane)
        expect(ns).toEqual([...ns].sort((a, b) => a - b))
      }
      expect((await target.stats()).refused).toBe(0)
    } finally {
      await follower.stop()
      await target.close()
      await broker.close()
    }
  })
})
