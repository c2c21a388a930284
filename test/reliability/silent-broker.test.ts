/**
 * Regression: a broker connection that goes silent (a path that drops everything
 * and never resets) must end the stream with UPSTREAM_UNAVAILABLE within a bound,
 * so that the client reconnects and resumes. Before the fix a JetStream stream
 * waited on its dead WebSocket and a Redis stream on its hung HTTP request while
 * the client, fed heartbeats, waited with them; the delivery scenarios lost every
 * later event of such a client. Kafka had its deadlines already; it is held to the same.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import type { Env } from '../../src/config/env'
import { ResumingEventSource } from '../support/faults/eventsource-client'
import { startTcpProxy, type TcpProxy } from '../support/faults/tcp-proxy'
import { connectJetStream, type JetStreamAdmin } from '../support/jetstream'
import { connectKafkaAdmin, type KafkaAdmin } from '../support/kafka/kafka-admin'
import { kafkaEnv, singleQuery as kafkaQuery, startKafkaHttp, type KafkaHttp } from '../support/kafka/kafka-fixtures'
import { RedisAdmin, redisEnv, singleQuery as redisQuery, streamKey } from '../support/redis'
import { eventsQuery, streamUrl, testSchema } from '../support/schemas'
import { openSse, readNextEvents, type SseEvent } from '../support/sse-client'
import { startTarget, type Target, type TargetName } from '../support/targets'
import { startUpstashRestServer, type UpstashRestServer } from '../support/upstash-rest-server'
import { uniqueName } from '../support/random'

/** One provider behind a fault proxy: where the function reads, and how a test writes. */
interface SilentCase {
  env: Env
  query: string
  publish(ns: number[]): Promise<void>
  close(): Promise<void>
}

const providers: Record<string, (name: string) => Promise<SilentCase & { proxy: TcpProxy }>> = {
  async jetstream(name) {
    const admin: JetStreamAdmin = await connectJetStream(inject('natsWsUrl'))
    await admin.createStream({ name, subjects: [`t.${name}.>`] })
    const proxy = await startTcpProxy(Number(new URL(inject('natsWsUrl')).port))
    return {
      proxy,
      // Pings every heartbeat: a silent connection is noticed after about three.
      env: { SCHEMA: testSchema, NATS_DEFAULT_URL: `ws://127.0.0.1:${proxy.port}` },
      query: eventsQuery(name, 'a'),
      publish: async (ns) => void (await admin.publish(`t.${name}.a`, ns.map((n) => ({ n })))),
      close: async () => {
        await proxy.close()
        await admin.close()
      },
    }
  },
  async redis(name) {
    const admin = new RedisAdmin(inject('redisPort'))
    const rest: UpstashRestServer = await startUpstashRestServer(inject('redisPort'))
    const proxy = await startTcpProxy(Number(new URL(rest.url).port))
    return {
      proxy,
      env: { ...redisEnv(rest), REDIS_CACHE_URL: `http://127.0.0.1:${proxy.port}`, REDIS_CACHE_BLOCK_MS: '500', REDIS_CACHE_REQUEST_TIMEOUT_MS: '500' },
      query: redisQuery(name),
      publish: async (ns) => void (await admin.add(streamKey(name, 'a'), ns.map((n) => ({ n, key: 'a' })))),
      close: async () => {
        await proxy.close()
        await rest.close()
        admin.close()
      },
    }
  },
  async kafka(name) {
    const admin: KafkaAdmin = await connectKafkaAdmin(inject('kafkaBootstrap'))
    await admin.createTopic(`k.${name}`, 1)
    const http: KafkaHttp = await startKafkaHttp(inject('kafkaBootstrap'), 'redpanda')
    const proxy = await startTcpProxy(http.port)
    return {
      proxy,
      env: kafkaEnv('redpanda', `http://127.0.0.1:${proxy.port}`, { KAFKA_DEFAULT_POLL_TIMEOUT_MS: '500', KAFKA_DEFAULT_REQUEST_TIMEOUT_MS: '500' }),
      query: kafkaQuery(name),
      publish: (ns) => admin.produce(`k.${name}`, ns.map((n) => ({ partition: 0, key: 'k', value: { n, p: 0, s: n, t: 'a' } }))),
      close: async () => {
        await proxy.close()
        await http.close()
        await admin.close()
      },
    }
  },
}

const numberOf = (event: { data: string }) => Object.values(JSON.parse(event.data).data as Record<string, { n: number }>)[0]!.n

// The NATS fix lives partly in the WebSocket transport, which differs on workerd; the others are platform-independent deadlines.
const cases: [provider: string, target: TargetName][] = [
  ['jetstream', 'node'],
  ['jetstream', 'workerd'],
  ['redis', 'node'],
  ['kafka', 'node'],
]

describe.each(cases)('a silent %s connection on %s', (provider, targetName) => {
  let setup: SilentCase & { proxy: TcpProxy }
  let target: Target

  beforeAll(async () => {
    setup = await providers[provider]!(uniqueName('silent'))
    target = await startTarget(targetName, { ...setup.env, HEARTBEAT_SECONDS: '0.5', RETRY_MS: '100' })
  })
  afterAll(async () => {
    await target?.close()
    await setup?.close()
  })

  it('ends the stream with UPSTREAM_UNAVAILABLE within seconds; the client resumes with nothing lost', async () => {
    await setup.publish([1, 2, 3])
    const first = await openSse(streamUrl(target.baseUrl, setup.query, { from: 'earliest' }))
    const before = await readNextEvents(first, 3)
    expect(before.map(numberOf)).toEqual([1, 2, 3])

    setup.proxy.blackhole()
    await setup.publish([4])
    const silentSince = Date.now()
    let ending: SseEvent | undefined
    while ((ending = await first.next()) && ending.event !== 'error') {
      expect(ending.event, 'nothing can arrive through a silent connection').not.toBe('next')
    }
    expect(ending?.data).toContain('UPSTREAM_UNAVAILABLE')
    expect(Date.now() - silentSince).toBeLessThan(8000)
    expect(await first.next(), 'the stream closes after the error frame').toBeUndefined()

    // The path works again, but a Node function may still hold keep-alive connections into the
    // old silent path: a request on one fails at its deadline, and the client simply retries.
    setup.proxy.heal()
    const after: number[] = []
    const resumed = new ResumingEventSource({
      url: streamUrl(target.baseUrl, setup.query, { lastEventId: before.at(-1)!.id! }),
      maxRetryMs: 100,
      onEvent: (event, self) => {
        if (event.type !== 'next') return
        after.push(numberOf(event))
        self.close()
      },
    })
    await resumed.finished()
    expect(after).toEqual([4])
    expect(resumed.stats.connects).toBeLessThanOrEqual(5)
  })
})
