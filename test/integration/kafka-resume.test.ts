import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { connectKafkaAdmin, type KafkaAdmin } from '../support/kafka/kafka-admin'
import { kafkaEnv, pairQuery, startKafkaHttp, type Adapter, type KafkaHttp } from '../support/kafka/kafka-fixtures'
import { streamUrl } from '../support/schemas'
import { openSse, readNextEvents, type SseEvent } from '../support/sse-client'
import { startTarget, type Target, type TargetName } from '../support/targets'
import { seededRandom, uniqueName } from '../support/random'

interface Row {
  n: number
  p: number
  s: number
  t: string
}

const RECORDS = 3000
const PARTITIONS = 3
const CUTS = 6

const recordsOf = (events: SseEvent[]): Row[] => events.map((e) => JSON.parse(e.data).data.pair as Row)

/** 3,000 records over two topics of three partitions, 50 keys spread over the partitions, each numbered per partition. */
function buildRecords(a: string, b: string) {
  const sequence = new Map<string, number>()
  return Array.from({ length: RECORDS }, (_, n) => {
    const key = `key-${(n * 7) % 50}`
    const t = n % 3 === 0 ? 'b' : 'a'
    const p = Number(key.slice(4)) % PARTITIONS
    const s = sequence.get(`${t}${p}`) ?? 0
    sequence.set(`${t}${p}`, s + 1)
    return { topic: t === 'a' ? `k.${a}` : `k.${b}`, partition: p, key, value: { n, p, s, t } }
  })
}

describe.each<[TargetName, Adapter]>([
  ['node', 'redpanda'],
  ['node', 'upstash'],
  ['workerd', 'redpanda'],
  ['workerd', 'upstash'],
])('Kafka resume on %s through the %s protocol', (targetName, adapter) => {
  let admin: KafkaAdmin
  let http: KafkaHttp
  let target: Target

  beforeAll(async () => {
    admin = await connectKafkaAdmin(inject('kafkaBootstrap'))
    http = await startKafkaHttp(inject('kafkaBootstrap'), adapter)
    target = await startTarget(targetName, kafkaEnv(adapter, http.url, { KAFKA_DEFAULT_POLL_TIMEOUT_MS: '500' }))
  })
  afterAll(async () => {
    await target?.close()
    await http?.close()
    await admin?.close()
  })

  it('delivers every record exactly once, in partition order, across cuts at random points', async () => {
    const [a, b] = [uniqueName('ra'), uniqueName('rb')]
    await admin.createTopic(`k.${a}`, PARTITIONS)
    await admin.createTopic(`k.${b}`, PARTITIONS)
    const produced = buildRecords(a, b)
    await admin.produce(`k.${a}`, produced.filter((r) => r.topic === `k.${a}`))
    await admin.produce(`k.${b}`, produced.filter((r) => r.topic === `k.${b}`))

    const random = seededRandom(3)
    const cuts = Array.from({ length: CUTS }, () => Math.floor(random() * RECORDS)).sort((x, y) => x - y)
    const received: Row[] = []
    let lastEventId: string | undefined
    for (const cut of [...cuts, RECORDS]) {
      const headers: Record<string, string> = lastEventId === undefined ? {} : { 'Last-Event-ID': lastEventId }
      const params: Record<string, string> = lastEventId === undefined ? { from: 'earliest' } : {}
      const connection = await openSse(streamUrl(target.baseUrl, pairQuery(a, b), params), { headers })
      expect(connection.status).toBe(200)
      const events = await readNextEvents(connection, cut - received.length)
      connection.cut()
      expect(events).toHaveLength(cut - received.length)
      received.push(...recordsOf(events))
      lastEventId = events.at(-1)?.id ?? lastEventId
    }

    expect(received.map((r) => r.n).sort((x, y) => x - y)).toEqual(Array.from({ length: RECORDS }, (_, n) => n))
    for (const t of ['a', 'b']) {
      for (let p = 0; p < PARTITIONS; p++) {
        const sequence = received.filter((r) => r.t === t && r.p === p).map((r) => r.s)
        expect(sequence).toEqual(sequence.map((_, i) => i))
      }
    }

    // Nothing is left behind the last cursor: the next event is the one produced now.
    const tail = await openSse(streamUrl(target.baseUrl, pairQuery(a, b)), { headers: { 'Last-Event-ID': lastEventId! } })
    await admin.produce(`k.${b}`, [{ partition: 2, key: 'late', value: { n: RECORDS, p: 2, s: -1, t: 'b' } }])
    const [late] = recordsOf(await readNextEvents(tail, 1))
    tail.cut()
    expect(late?.n).toBe(RECORDS)
  })
})
