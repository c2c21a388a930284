import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { createServerFromEnv } from '../../src/setup'
import { connectKafkaAdmin, type KafkaAdmin } from '../support/kafka/kafka-admin'
import type { JsonRequest } from '../support/kafka/json-http-server'
import { kafkaEnv, pairQuery, singleQuery, startKafkaHttp, type Adapter, type KafkaHttp } from '../support/kafka/kafka-fixtures'
import { freePort } from '../support/ports'
import { streamUrl } from '../support/schemas'
import { openSse, readNextEvents, type SseConnection, type SseEvent } from '../support/sse-client'
import { startTarget, type Target } from '../support/targets'
import { uniqueName } from '../support/random'

interface Row {
  n: number
  p: number
  s: number
  t: string
}

const rowsOf = (events: SseEvent[]): Row[] => events.map((e) => JSON.parse(e.data).data.single as Row)
const pairs = (rows: Row[]) => rows.map((r) => `${r.p}:${r.s}`)
const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i)
/** The cursor with its position part replaced: an unsigned cursor is `1.<binding>.<position>`. */
const withPosition = (cursor: string, position: string) => [...cursor.split('.').slice(0, 2), position].join('.')

/** Every event up to the first non-`next` one (returned separately), or the end of the stream. */
async function readUntilOther(connection: SseConnection, limit: number): Promise<{ events: SseEvent[]; other: SseEvent | undefined }> {
  const events: SseEvent[] = []
  for (let i = 0; i < limit; i++) {
    const event = await connection.next()
    if (event?.event !== 'next') return { events, other: event }
    events.push(event)
  }
  throw new Error(`more than ${limit} events`)
}

describe.each<Adapter>(['redpanda', 'upstash'])('Kafka streams through the %s protocol', (adapter) => {
  let admin: KafkaAdmin
  let http: KafkaHttp
  let target: Target

  /** A topic of `partitions` partitions with `perPartition[p]` records in partition p, each {n, p, s: its offset}. */
  async function topicWith(partitions: number, perPartition: (p: number) => number): Promise<string> {
    const name = uniqueName(adapter)
    await admin.createTopic(`k.${name}`, partitions)
    let n = 0
    const records = range(0, partitions).flatMap((p) => range(0, perPartition(p)).map((s) => ({ partition: p, key: `p${p}`, value: { n: n++, p, s, t: 'a' } })))
    await admin.produce(`k.${name}`, records)
    return name
  }

  beforeAll(async () => {
    admin = await connectKafkaAdmin(inject('kafkaBootstrap'))
    http = await startKafkaHttp(inject('kafkaBootstrap'), adapter)
    target = await startTarget('node', kafkaEnv(adapter, http.url, { KAFKA_DEFAULT_POLL_TIMEOUT_MS: '300', KAFKA_DEFAULT_MAX_BYTES: '4096' }))
  })
  afterAll(async () => {
    await target?.close()
    await http?.close()
    await admin?.close()
  })

  it('reports records deleted by retention as a gap, then continues at the earliest retained offset', async () => {
    const name = await topicWith(3, () => 20)
    const first = await openSse(streamUrl(target.baseUrl, singleQuery(name), { from: 'earliest' }))
    const before = await readNextEvents(first, 15)
    first.cut()
    const read = rowsOf(before)
    const next = (p: number) => read.filter((r) => r.p === p).length
    const cutPartition = [0, 1, 2].find((p) => next(p) > 0 && next(p) < 18)!
    await admin.deleteRecords(`k.${name}`, cutPartition, next(cutPartition) + 3)

    const second = await openSse(streamUrl(target.baseUrl, singleQuery(name)), { headers: { 'Last-Event-ID': before.at(-1)!.id! } })
    const gap = await second.next()
    expect(gap?.event).toBe('gap')
    expect(gap?.id).toBeUndefined()
    const { requested, resumedFrom, reason } = JSON.parse(gap!.data)
    expect(reason).toBe('retention')
    expect(requested).toBe(before.at(-1)!.id)
    const after = rowsOf(await readNextEvents(second, 60 - read.length - 3))
    second.cut()
    const expected = [0, 1, 2].flatMap((p) => range(p === cutPartition ? next(p) + 3 : next(p), 20).map((s) => `${p}:${s}`))
    expect(pairs(after).sort()).toEqual(expected.sort())

    // resumedFrom is a cursor too: it continues at the same place, with no gap left to report.
    const again = await openSse(streamUrl(target.baseUrl, singleQuery(name)), { headers: { 'Last-Event-ID': resumedFrom } })
    const replay = await readNextEvents(again, after.length)
    again.cut()
    expect(pairs(rowsOf(replay)).sort()).toEqual(expected.sort())
  })

  it('reports a position beyond the log end as unknown and starts over at the log start', async () => {
    const name = await topicWith(1, () => 5)
    const first = await openSse(streamUrl(target.baseUrl, singleQuery(name), { from: 'earliest' }))
    const [one] = await readNextEvents(first, 1)
    first.cut()
    const second = await openSse(streamUrl(target.baseUrl, singleQuery(name)), { headers: { 'Last-Event-ID': withPosition(one!.id!, 'zz') } })
    const gap = await second.next()
    expect(JSON.parse(gap!.data).reason).toBe('unknown-position')
    const rows = rowsOf(await readNextEvents(second, 5))
    second.cut()
    expect(pairs(rows)).toEqual(range(0, 5).map((s) => `0:${s}`))
  })

  it('starts partitions added while the client was away at their log start', async () => {
    const name = await topicWith(2, () => 5)
    const first = await openSse(streamUrl(target.baseUrl, singleQuery(name), { from: 'earliest' }))
    const all = await readNextEvents(first, 10)
    first.cut()
    await admin.addPartitions(`k.${name}`, 3)
    await admin.produce(`k.${name}`, [
      ...range(0, 3).map((s) => ({ partition: 2, key: 'p2', value: { n: 100 + s, p: 2, s, t: 'a' } })),
      { partition: 0, key: 'p0', value: { n: 200, p: 0, s: 5, t: 'a' } },
    ])
    const second = await openSse(streamUrl(target.baseUrl, singleQuery(name)), { headers: { 'Last-Event-ID': all.at(-1)!.id! } })
    const events = await readNextEvents(second, 4)
    second.cut()
    expect(second.raw()).not.toContain('event: gap')
    expect(pairs(rowsOf(events)).sort()).toEqual(['0:5', '2:0', '2:1', '2:2'])
  })

  it('serves more partitions than fetch slots, each in order, interleaving a busy one with the others', async () => {
    const name = await topicWith(8, (p) => (p === 0 ? 3000 : 5))
    const connection = await openSse(streamUrl(target.baseUrl, singleQuery(name), { from: 'earliest' }))
    const rows = rowsOf(await readNextEvents(connection, 3035))
    connection.cut()
    for (let p = 0; p < 8; p++) expect(rows.filter((r) => r.p === p).map((r) => r.s)).toEqual(range(0, p === 0 ? 3000 : 5))

    // On resume every partition has an answer before the first event: the small ones are not queued behind the busy one.
    const second = await openSse(streamUrl(target.baseUrl, singleQuery(name)), { headers: { 'Last-Event-ID': withPosition(connection.raw().match(/^id: (.*)$/m)![1]!, '0_0_0_0_0_0_0_0') } })
    const resumed = rowsOf(await readNextEvents(second, 3035))
    second.cut()
    const lastSmall = Math.max(...resumed.map((r, i) => (r.p === 0 ? -1 : i)))
    expect(lastSmall).toBeLessThan(64 * 8)
    expect(resumed).toHaveLength(3035)
  })

  /**
   * A translation server whose partition 1 of `topic` looks, while `lagging` says so, as if its log
   * ended at 0, below the records already fetched from it: Upstash's log end look-up answers 0,
   * Redpanda's records request answers offset_out_of_range (a broker answering from behind).
   */
  async function laggingHttp(topic: () => string, lagging: () => 'once' | 'always' | 'no') {
    let lagged = 0
    const lag = (request: JsonRequest) => {
      if (lagging() === 'no' || (lagging() === 'once' && lagged > 0)) return false
      if (adapter === 'upstash') {
        if (request.path !== '/offsets/latest') return false
        const asked = JSON.parse(request.body) as { topic: string; partition: number }[]
        return asked.length === 1 && asked[0]!.topic === `k.${topic()}` && asked[0]!.partition === 1
      }
      return request.path === `/topics/k.${topic()}/partitions/1/records` && request.query.get('offset') === '5'
    }
    const own = await startKafkaHttp(inject('kafkaBootstrap'), adapter, {
      intercept: async (request) => {
        if (!lag(request)) return undefined
        lagged++
        return adapter === 'upstash'
          ? { status: 200, body: [{ topic: `k.${topic()}`, partition: 1, offset: 0 }] }
          : { status: 400, body: { error_code: 40002, message: 'offset_out_of_range' }, contentType: 'application/vnd.kafka.v2+json' }
      },
    })
    return { own, lagged: () => lagged }
  }

  it('does not read a partition again when its log end once looks below what the stream already read', async () => {
    const name = await topicWith(2, () => 5)
    let lagging: 'once' | 'no' = 'no'
    const { own, lagged } = await laggingHttp(() => name, () => lagging)
    const laggy = await startTarget('node', kafkaEnv(adapter, own.url, { KAFKA_DEFAULT_POLL_TIMEOUT_MS: '300' }))
    try {
      const connection = await openSse(streamUrl(laggy.baseUrl, singleQuery(name), { from: 'earliest' }))
      const first = rowsOf(await readNextEvents(connection, 10))
      lagging = 'once'
      await expect.poll(lagged, { timeout: 10_000, interval: 20 }).toBe(1)
      await admin.produce(`k.${name}`, [{ partition: 1, key: 'p1', value: { n: 10, p: 1, s: 5, t: 'a' } }])
      const rows = [...first]
      while (rows.at(-1)?.s !== 5) rows.push(...rowsOf(await readNextEvents(connection, 1)))
      connection.cut()
      expect(rows.filter((r) => r.p === 0).map((r) => r.s)).toEqual(range(0, 5))
      expect(rows.filter((r) => r.p === 1).map((r) => r.s)).toEqual(range(0, 6))
      expect(connection.raw()).not.toContain('event: gap')
    } finally {
      await laggy.close()
      await own.close()
    }
  })

  it('ends the stream instead of reading a partition again when its log end stays below the stream, and resumes by the last id', async () => {
    const name = await topicWith(2, () => 5)
    let lagging: 'always' | 'no' = 'no'
    const { own, lagged } = await laggingHttp(() => name, () => lagging)
    const laggy = await startTarget('node', kafkaEnv(adapter, own.url, { KAFKA_DEFAULT_POLL_TIMEOUT_MS: '300', RETRY_MS: '1000' }))
    try {
      const connection = await openSse(streamUrl(laggy.baseUrl, singleQuery(name), { from: 'earliest' }))
      const first = await readNextEvents(connection, 10)
      lagging = 'always'
      const { events, other } = await readUntilOther(connection, 20)
      expect(events).toEqual([])
      expect(other?.event).toBe('error')
      expect(JSON.parse(other!.data).errors[0].extensions.code).toBe('UPSTREAM_UNAVAILABLE')
      expect(await connection.next()).toBeUndefined()
      expect(lagged()).toBeGreaterThanOrEqual(2)
      expect(pairs(rowsOf(first)).sort()).toEqual([0, 1].flatMap((p) => range(0, 5).map((s) => `${p}:${s}`)).sort())

      lagging = 'no'
      await admin.produce(`k.${name}`, [{ partition: 1, key: 'p1', value: { n: 10, p: 1, s: 5, t: 'a' } }])
      const second = await openSse(streamUrl(laggy.baseUrl, singleQuery(name)), { headers: { 'Last-Event-ID': first.at(-1)!.id! } })
      const [next] = rowsOf(await readNextEvents(second, 1))
      second.cut()
      expect(second.raw()).not.toContain('event: gap')
      expect(next).toEqual({ n: 10, p: 1, s: 5, t: 'a' })
    } finally {
      await laggy.close()
      await own.close()
    }
  })

  it('delivers a record at once while the other partitions wait on the server', async () => {
    const name = await topicWith(3, () => 0)
    const patient = await startTarget('node', kafkaEnv(adapter, http.url, { KAFKA_DEFAULT_POLL_TIMEOUT_MS: '20000' }))
    try {
      const connection = await openSse(streamUrl(patient.baseUrl, singleQuery(name)))
      // Every partition has its long poll waiting on the server before the record is produced.
      const longPoll = (r: JsonRequest) => r.query.get('timeout') === '20000' || r.body.includes('"timeout":20000')
      const polls = () => [...http.active].filter((r) => (r.path.includes(name) || r.body.includes(name)) && longPoll(r)).length
      await expect.poll(polls, { timeout: 10_000, interval: 20 }).toBe(3)
      const sent = Date.now()
      await admin.produce(`k.${name}`, [{ partition: 1, key: 'p1', value: { n: 1, p: 1, s: 0, t: 'a' } }])
      const [row] = rowsOf(await readNextEvents(connection, 1))
      connection.cut()
      expect(row).toEqual({ n: 1, p: 1, s: 0, t: 'a' })
      expect(Date.now() - sent).toBeLessThan(5000)
    } finally {
      await patient.close()
    }
  })

  it('paces the polls of an idle topic by the poll timeout instead of looping', async () => {
    const name = await topicWith(3, () => 0)
    const heartbeats = await startTarget('node', kafkaEnv(adapter, http.url, { KAFKA_DEFAULT_POLL_TIMEOUT_MS: '300', HEARTBEAT_SECONDS: '0.2' }))
    try {
      const requestsBefore = totalRequests(http)
      const connection = await openSse(streamUrl(heartbeats.baseUrl, singleQuery(name)))
      const reading = connection.next()
      // Ten heartbeats: two seconds of an idle stream, measured by the stream itself.
      await expect.poll(() => connection.raw().split(': ping').length - 1, { timeout: 10_000, interval: 50 }).toBeGreaterThanOrEqual(10)
      connection.cut()
      expect(await reading).toBeUndefined()
      const requests = totalRequests(http) - requestsBefore
      // Per partition about one poll per 300 ms (plus, for Upstash, two offset look-ups per empty poll).
      const perPoll = adapter === 'upstash' ? 3 : 1
      expect(requests).toBeGreaterThanOrEqual(3)
      expect(requests).toBeLessThan(3 * perPoll * (2200 / 300 + 3) + 10)
    } finally {
      await heartbeats.close()
    }
  })

  it('turns a record without a JSON value into an error result and goes on', async () => {
    const name = await topicWith(1, () => 1)
    await admin.produceRaw(`k.${name}`, [
      { partition: 0, key: 'p0', value: null },
      { partition: 0, key: 'p0', value: 'not json' },
      { partition: 0, key: 'p0', value: JSON.stringify({ n: 3, p: 0, s: 3, t: 'a' }) },
    ])
    const connection = await openSse(streamUrl(target.baseUrl, singleQuery(name), { from: 'earliest' }))
    const events = await readNextEvents(connection, 4)
    connection.cut()
    const results = events.map((e) => JSON.parse(e.data))
    expect(results[0].data.single.s).toBe(0)
    // Redpanda's binary format tells a tombstone (null) from an empty value; Upstash's REST sends "" for both.
    const tombstone = adapter === 'redpanda' ? `Kafka record k.${name}/0@1 has no value (a tombstone)` : 'The event payload is not valid JSON'
    expect(results[1]).toEqual({ data: null, errors: [{ message: tombstone, path: ['single'] }] })
    expect(results[2]).toEqual({ data: null, errors: [{ message: 'The event payload is not valid JSON', path: ['single'] }] })
    expect(results[3].data.single.s).toBe(3)
    expect(new Set(events.map((e) => e.id)).size).toBe(4)
  })

  it('with CURSOR_KEYS, signs a replay batch once, its range in each id, and resumes exactly after any of its ids', async () => {
    const name = await topicWith(3, () => 10)
    const signing = await startTarget(
      'node',
      kafkaEnv(adapter, http.url, { KAFKA_DEFAULT_POLL_TIMEOUT_MS: '300', KAFKA_DEFAULT_MAX_BYTES: '4096', CURSOR_KEYS: 'k:kafka-cursor-key-0123456789' }),
    )
    try {
      const first = await openSse(streamUrl(signing.baseUrl, singleQuery(name), { from: 'earliest' }))
      const events = await readNextEvents(first, 30)
      first.cut()
      const rows = rowsOf(events)
      const ranged = events.map((event) => event.id!.split('.')).filter((parts) => parts.length === 7)
      expect(ranged.length).toBeGreaterThan(1)
      expect(new Set(ranged.map((parts) => parts[4])).size).toBeLessThan(ranged.length)
      for (const index of [0, 9, 17, 28]) {
        const resumed = await openSse(streamUrl(signing.baseUrl, singleQuery(name)), { headers: { 'Last-Event-ID': events[index]!.id! } })
        const rest = rowsOf(await readNextEvents(resumed, 29 - index))
        resumed.cut()
        // Each partition goes on after the event's offset in it: the rest of the replay, none twice.
        expect(pairs(rest).sort()).toEqual(pairs(rows.slice(index + 1)).sort())
      }
    } finally {
      await signing.close()
    }
  })

  it('refuses a malformed or foreign Kafka cursor with 400 INVALID_CURSOR', async () => {
    const [a, b] = [await topicWith(2, () => 1), await topicWith(1, () => 1)]
    const connection = await openSse(streamUrl(target.baseUrl, pairQuery(a, b), { from: 'earliest' }))
    const [event] = await readNextEvents(connection, 1)
    connection.cut()
    const valid = event!.id!
    const foreign = await openSse(streamUrl(target.baseUrl, singleQuery(b), { from: 'earliest' }))
    const [other] = await readNextEvents(foreign, 1)
    foreign.cut()
    for (const cursor of [withPosition(valid, '1_1'), withPosition(valid, '1~1~1'), withPosition(valid, 'a__b'), withPosition(valid, 'ZZ'), 'kafka', other!.id!]) {
      const response = await fetch(streamUrl(target.baseUrl, pairQuery(a, b)), { headers: { 'Last-Event-ID': cursor } })
      expect(response.status, cursor).toBe(400)
      expect((await response.json()).errors[0].extensions.code).toBe('INVALID_CURSOR')
    }
  })

  it('names an unknown topic to the client and in the log, and tells the client to retry', async () => {
    const lines: string[] = []
    const server = createServerFromEnv(kafkaEnv(adapter, http.url, { LOG_LEVEL: 'info' }), { log: (line) => lines.push(line) })
    const missing = uniqueName('missing')
    const response = await server.app.fetch(new Request(streamUrl('http://app.test', singleQuery(missing))))
    const text = await response.text()
    expect(response.status).toBe(200)
    expect(text).toMatch(/retry: \d+\nevent: error\ndata: .*"UNKNOWN_TOPIC"/)
    expect(text).toContain(`Kafka topic \\"k.${missing}\\" does not exist`)
    expect(text).not.toContain('complete')
    expect(lines.join('\n')).toContain(`Kafka topic \\"k.${missing}\\" does not exist`)
  })

  it('answers UPSTREAM_UNAVAILABLE with a retry while the proxy is down, and resumes once it is back', async () => {
    const name = await topicWith(1, () => 10)
    const own = await startKafkaHttp(inject('kafkaBootstrap'), adapter)
    const env = { KAFKA_DEFAULT_POLL_TIMEOUT_MS: '300', KAFKA_DEFAULT_REQUEST_TIMEOUT_MS: '1000', RETRY_MS: '1000' }
    const flaky = await startTarget('node', kafkaEnv(adapter, own.url, env))
    let restarted: KafkaHttp | undefined
    try {
      const first = await openSse(streamUrl(flaky.baseUrl, singleQuery(name), { from: 'earliest' }))
      const [some] = await readNextEvents(first, 1)
      await own.close()
      const { events, other } = await readUntilOther(first, 20)
      expect(other?.event).toBe('error')
      expect(other?.id).toBeUndefined()
      expect(other?.retry).toBeGreaterThanOrEqual(1000)
      expect(JSON.parse(other!.data).errors[0].extensions.code).toBe('UPSTREAM_UNAVAILABLE')
      expect(await first.next()).toBeUndefined()
      const seen = rowsOf([some!, ...events])

      restarted = await startKafkaHttp(inject('kafkaBootstrap'), adapter, { port: own.port })
      await admin.produce(`k.${name}`, [{ partition: 0, key: 'p0', value: { n: 10, p: 0, s: 10, t: 'a' } }])
      const lastId = events.at(-1)?.id ?? some!.id!
      const second = await openSse(streamUrl(flaky.baseUrl, singleQuery(name)), { headers: { 'Last-Event-ID': lastId } })
      const rest = rowsOf(await readNextEvents(second, 11 - seen.length))
      second.cut()
      expect([...seen, ...rest].map((r) => r.s)).toEqual(range(0, 11))
    } finally {
      await flaky.close()
      await restarted?.close()
    }
  })

  it('answers UPSTREAM_UNAVAILABLE within the request timeout when nothing listens at the URL', async () => {
    const offline = await startTarget('node', kafkaEnv(adapter, `http://127.0.0.1:${await freePort()}`, { KAFKA_DEFAULT_REQUEST_TIMEOUT_MS: '1000' }))
    try {
      const started = Date.now()
      const connection = await openSse(streamUrl(offline.baseUrl, singleQuery('anything')))
      const error = await connection.next()
      expect(error?.event).toBe('error')
      expect(JSON.parse(error!.data).errors[0].extensions.code).toBe('UPSTREAM_UNAVAILABLE')
      expect(await connection.next()).toBeUndefined()
      expect(Date.now() - started).toBeLessThan(5000)
    } finally {
      await offline.close()
    }
  })
})

function totalRequests(http: KafkaHttp): number {
  let count = 0
  for (const n of http.requests.values()) count += n
  return count
}
