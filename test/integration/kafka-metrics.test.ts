/**
 * Kafka's resume depth, through both HTTP protocols in front of the real Kafka broker: with
 * metrics on, a resumed stream asks for the log ends and reports the records between its cursor
 * and the head (metrics and the stream.close line); without, it reports none (and asks for none).
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { streamMetrics } from '../../src/metrics/stream-metrics'
import { createServerFromEnv } from '../../src/setup'
import { connectKafkaAdmin, type KafkaAdmin } from '../support/kafka/kafka-admin'
import { kafkaEnv, pairQuery, startKafkaHttp, type Adapter, type KafkaHttp } from '../support/kafka/kafka-fixtures'
import { parseSamples } from '../support/prometheus-text'
import { uniqueName } from '../support/random'
import { streamUrl } from '../support/schemas'
import { openSse, readNextEvents } from '../support/sse-client'

describe.each<Adapter>(['redpanda', 'upstash'])('Kafka resume depth through the %s protocol', (adapter) => {
  let admin: KafkaAdmin
  let http: KafkaHttp

  beforeAll(async () => {
    admin = await connectKafkaAdmin(inject('kafkaBootstrap'))
    http = await startKafkaHttp(inject('kafkaBootstrap'), adapter)
  })
  afterAll(async () => {
    await http?.close()
    await admin?.close()
  })

  it('counts the records of every partition between the cursor and the log ends', async () => {
    const [a, b] = [uniqueName('ma'), uniqueName('mb')]
    await admin.createTopic(`k.${a}`, 2)
    await admin.createTopic(`k.${b}`, 1)
    // 12 records over three partitions of two topics.
    await admin.produce(`k.${a}`, Array.from({ length: 8 }, (_, n) => ({ partition: n % 2, key: String(n), value: { n, p: n % 2, s: n >> 1, t: 'a' } })))
    await admin.produce(`k.${b}`, Array.from({ length: 4 }, (_, n) => ({ partition: 0, key: String(n), value: { n: 8 + n, p: 0, s: n, t: 'b' } })))

    const metrics = streamMetrics()
    const lines: string[] = []
    const { app } = createServerFromEnv(kafkaEnv(adapter, http.url, { METRICS_PORT: '9464', KAFKA_DEFAULT_POLL_TIMEOUT_MS: '500' }), {
      hooks: () => metrics.hooks,
      log: (line) => lines.push(line),
    })
    const fetcher = (url: string, init?: RequestInit) => app.fetch(new Request(new URL(url, 'http://app.test'), init))
    const first = await openSse(streamUrl('', pairQuery(a, b), { from: 'earliest' }), {}, fetcher)
    const read = await readNextEvents(first, 5)
    first.cut()
    const resumed = await openSse(streamUrl('', pairQuery(a, b)), { headers: { 'Last-Event-ID': read[4]!.id! } }, fetcher)
    expect(await readNextEvents(resumed, 7)).toHaveLength(7)
    resumed.cut()

    const labels = { field: 'pair', provider_type: 'kafka', provider_id: 'default' }
    await expect.poll(async () => parseSamples(await metrics.registry.metrics())('edge_stream_streams_ended_total', { ...labels, reason: 'client-gone' })).toBe(2)
    const sample = parseSamples(await metrics.registry.metrics())
    expect(sample('edge_stream_resume_depth_events_count', labels)).toBe(1)
    expect(sample('edge_stream_resume_depth_events_sum', labels)).toBe(12 - 5)
    const closes = lines.map((line) => JSON.parse(line) as Record<string, unknown>).filter((line) => line.event === 'stream.close')
    expect(closes.map((line) => line.resumeDepth)).toEqual([undefined, 7])

    const plainLines: string[] = []
    const plain = createServerFromEnv(kafkaEnv(adapter, http.url, { KAFKA_DEFAULT_POLL_TIMEOUT_MS: '500' }), { log: (line) => plainLines.push(line) })
    const again = await openSse(streamUrl('', pairQuery(a, b)), { headers: { 'Last-Event-ID': read[4]!.id! } }, (url, init) =>
      plain.app.fetch(new Request(new URL(url, 'http://app.test'), init)),
    )
    expect(await readNextEvents(again, 7)).toHaveLength(7)
    again.cut()
    const plainCloses = () => plainLines.map((line) => JSON.parse(line) as Record<string, unknown>).filter((line) => line.event === 'stream.close')
    await expect.poll(() => plainCloses().length).toBe(1)
    expect(plainCloses()[0]).not.toHaveProperty('resumeDepth')
  })
})
