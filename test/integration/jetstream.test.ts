/** The JetStream provider against the real nats-server: subject isolation, retention gaps, broker failure. */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { RetentionPolicy } from '@nats-io/jetstream'
import { JetStreamProvider } from '../../src/providers/nats/jetstream-provider'
import { connectionPerStream } from '../../src/providers/nats/nats-connection'
import { freePort } from '../support/ports'
import { connectJetStream, type JetStreamAdmin } from '../support/jetstream'
import { eventsQuery, streamUrl, testSchema } from '../support/schemas'
import { openSse, readNextEvents } from '../support/sse-client'
import { startTarget, type Target } from '../support/targets'
import { uniqueName } from '../support/random'

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i)

const servers = [
  ['nats-server 2.12', inject('natsWsUrl')],
  ['nats-server 2.9', inject('natsLegacyWsUrl')],
] as const

describe.each(servers)('JetStream provider on %s', (_server, natsUrl) => {
  let admin: JetStreamAdmin
  let target: Target

  beforeAll(async () => {
    admin = await connectJetStream(natsUrl)
    target = await startTarget('node', { SCHEMA: testSchema, NATS_DEFAULT_URL: natsUrl })
  })
  afterAll(async () => {
    await target?.close()
    await admin?.close()
  })

  it('gives two clients with different arguments only their own subjects', async () => {
    const stream = uniqueName('isolation')
    await admin.createStream({ name: stream, subjects: [`t.${stream}.>`] })
    const alice = await openSse(streamUrl(target.baseUrl, eventsQuery(stream, 'alice', 'n label')))
    const bob = await openSse(streamUrl(target.baseUrl, eventsQuery(stream, 'bob', 'n label')))
    // Both are attached once their (live) consumers exist.
    await expect.poll(() => admin.consumerCount(stream), { timeout: 10_000, interval: 20 }).toBe(2)
    for (const n of range(1, 20)) {
      await admin.publish(`t.${stream}.${n % 2 ? 'alice' : 'bob'}`, [{ n, label: n % 2 ? 'alice' : 'bob' }])
    }
    const labels = async (c: typeof alice) => (await readNextEvents(c, 10)).map((e) => JSON.parse(e.data).data.events)
    const aliceSaw = await labels(alice)
    const bobSaw = await labels(bob)
    alice.cut()
    bob.cut()
    expect(aliceSaw).toEqual(range(1, 20).filter((n) => n % 2).map((n) => ({ n, label: 'alice' })))
    expect(bobSaw).toEqual(range(1, 20).filter((n) => n % 2 === 0).map((n) => ({ n, label: 'bob' })))
  })

  it('reads events too large for two to share a pull, each once and in order', async () => {
    const stream = uniqueName('large')
    await admin.createStream({ name: stream, subjects: [`t.${stream}.>`] })
    // A pull asks for about 1 MiB (the server's largest message and then some): the server ends
    // each one after two of these, and the stream must keep pulling on for the rest.
    const label = 'x'.repeat(400_000)
    await admin.publish(`t.${stream}.a`, range(1, 9).map((n) => ({ n, label })))
    const connection = await openSse(streamUrl(target.baseUrl, eventsQuery(stream, 'a', 'n label'), { from: 'earliest' }))
    const events = (await readNextEvents(connection, 9)).map((e) => JSON.parse(e.data).data.events)
    connection.cut()
    expect(events.map((e) => e.n)).toEqual(range(1, 9))
    expect(events.every((e) => e.label === label)).toBe(true)
  })

  it('tops up small pulls and renews expired ones, each event once and in order', async () => {
    const stream = uniqueName('pulls')
    const subject = `t.${stream}.a`
    await admin.createStream({ name: stream, subjects: [`t.${stream}.>`] })
    await admin.publish(subject, range(1, 50).map((n) => ({ n })))
    // Pulls of 4 messages, two out at once (the server spreads messages over them), expiring after 200 ms.
    const provider = new JetStreamProvider(connectionPerStream({ servers: [natsUrl] }), { batchSize: 4, pullExpiresMs: 200 })
    const abort = new AbortController()
    const items = provider.open({ kind: 'nats', providerId: 'default', names: [subject] }, { from: 'earliest' }, abort.signal)
    const iterator = items[Symbol.asyncIterator]()
    const seen: number[] = []
    const readUntil = async (count: number) => {
      while (seen.length < count) {
        const { value } = await iterator.next()
        for (const item of value ?? []) if (item.type === 'event') seen.push(JSON.parse(item.text).n)
      }
    }
    await readUntil(50)
    // Waiting for more, the stream sees several pulls expire (408) on the quiet log: it must go on asking.
    const last = readUntil(51)
    await new Promise((resolve) => setTimeout(resolve, 1000))
    await admin.publish(subject, [{ n: 51 }])
    await last
    abort.abort()
    await iterator.return?.()
    expect(seen).toEqual(range(1, 51))
  })

  it('merges several subjects of one stream in stream order and resumes them with one sequence', async () => {
    const stream = uniqueName('pair')
    await admin.createStream({ name: stream, subjects: [`t.${stream}.>`] })
    const sides = range(1, 60).map((n) => (n % 3 === 0 ? 'other' : n % 3 === 1 ? 'left' : 'right'))
    for (const [i, side] of sides.entries()) await admin.publish(`t.${stream}.${side}`, [{ n: i + 1, label: side }])
    const expected = range(1, 60).filter((n) => sides[n - 1] !== 'other')
    const query = `subscription { pair(stream: "${stream}") { n label } }`
    const read = (events: { data: string }[]) => events.map((e) => JSON.parse(e.data).data.pair.n as number)

    const first = await openSse(streamUrl(target.baseUrl, query, { from: 'earliest' }))
    const before = await readNextEvents(first, 15)
    first.cut()
    const second = await openSse(streamUrl(target.baseUrl, query), { headers: { 'Last-Event-ID': before.at(-1)!.id! } })
    const after = await readNextEvents(second, expected.length - 15)
    second.cut()
    expect([...read(before), ...read(after)]).toEqual(expected)
  })

  it('reports a retention gap, then the earliest retained event', async () => {
    const stream = uniqueName('gap')
    await admin.createStream({ name: stream, subjects: [`t.${stream}.>`], max_msgs: 100, retention: RetentionPolicy.Limits })
    await admin.publish(`t.${stream}.a`, range(1, 10).map((n) => ({ n })))
    const query = eventsQuery(stream, 'a')
    const early = await openSse(streamUrl(target.baseUrl, query, { from: 'earliest' }))
    const [third] = (await readNextEvents(early, 3)).slice(2)
    early.cut()

    await admin.publish(`t.${stream}.a`, range(11, 250).map((n) => ({ n })))
    const { state } = await admin.jsm.streams.info(stream)
    expect(state.first_seq).toBe(151)

    const resumed = await openSse(streamUrl(target.baseUrl, query), { headers: { 'Last-Event-ID': third!.id! } })
    const gap = await resumed.next()
    expect(gap?.event).toBe('gap')
    expect(gap?.id).toBeUndefined()
    const detail = JSON.parse(gap!.data)
    expect(detail).toMatchObject({ requested: third!.id, reason: 'retention' })
    expect(detail.resumedFrom.split('.')[2]).toBe('150')
    const [first] = await readNextEvents(resumed, 1)
    resumed.cut()
    expect(JSON.parse(first!.data).data.events.n).toBe(151)
  })

  it('reports a position beyond the log end as unknown, then continues from the earliest', async () => {
    const stream = uniqueName('recreated')
    await admin.createStream({ name: stream, subjects: [`t.${stream}.>`] })
    await admin.publish(`t.${stream}.a`, range(1, 5).map((n) => ({ n })))
    const query = eventsQuery(stream, 'a')
    const before = await openSse(streamUrl(target.baseUrl, query, { from: 'earliest' }))
    const last = (await readNextEvents(before, 5)).at(-1)!
    before.cut()
    // The stream is recreated: its sequence starts again, below the client's position.
    await admin.jsm.streams.delete(stream)
    await admin.createStream({ name: stream, subjects: [`t.${stream}.>`] })
    await admin.publish(`t.${stream}.a`, [{ n: 100 }])
    const after = await openSse(streamUrl(target.baseUrl, query), { headers: { 'Last-Event-ID': last.id! } })
    const gap = await after.next()
    expect(gap?.event).toBe('gap')
    expect(JSON.parse(gap!.data).reason).toBe('unknown-position')
    const [first] = await readNextEvents(after, 1)
    after.cut()
    expect(JSON.parse(first!.data).data.events.n).toBe(100)
  })

  it('serves subjects that no stream captures live, at most once, without ids', async () => {
    const topic = uniqueName('nohistory')
    const connection = await openSse(streamUrl(target.baseUrl, eventsQuery('live', topic)))
    // Said in-band once the server has the subscription: what is published from then on arrives.
    const notice = await connection.next()
    expect(notice?.event).toBe('no-history')
    expect(notice?.id).toBeUndefined()
    expect(JSON.parse(notice?.data ?? '{}')).toEqual({ delivery: 'at-most-once', subjects: [`t.live.${topic}`] })
    admin.nc.publish(`t.live.${topic}`, JSON.stringify({ n: 1 }))
    const event = await connection.next()
    connection.cut()
    expect(event?.event).toBe('next')
    expect(event?.id).toBeUndefined()
    expect(JSON.parse(event?.data ?? '{}').data.events.n).toBe(1)
  })

  it('refuses subjects without history under REQUIRE_HISTORY, ending the subscription', async () => {
    const strict = await startTarget('node', { SCHEMA: testSchema, NATS_DEFAULT_URL: natsUrl, REQUIRE_HISTORY: 'true' })
    try {
      const connection = await openSse(streamUrl(strict.baseUrl, eventsQuery('nohistory', 'a')))
      const error = await connection.next()
      const complete = await connection.next()
      expect(await connection.next()).toBeUndefined()
      expect(error?.id).toBeUndefined()
      expect(JSON.parse(error!.data).errors[0].extensions.code).toBe('NO_HISTORY')
      expect(complete).toEqual({ event: 'complete', data: '' })
    } finally {
      await strict.close()
    }
  })

  it('reports an unreachable broker as UPSTREAM_UNAVAILABLE with a retry, without an id', async () => {
    const closedPort = await freePort()
    const offline = await startTarget('node', { SCHEMA: testSchema, NATS_DEFAULT_URL: `ws://127.0.0.1:${closedPort}`, RETRY_MS: '1000' })
    try {
      const connection = await openSse(streamUrl(offline.baseUrl, eventsQuery('s', 'a')))
      expect(connection.status).toBe(200)
      const error = await connection.next()
      expect(await connection.next()).toBeUndefined()
      expect(error?.event).toBe('error')
      expect(error?.id).toBeUndefined()
      expect(error?.retry).toBeGreaterThanOrEqual(1000)
      expect(error?.retry).toBeLessThanOrEqual(2000)
      expect(JSON.parse(error!.data)).toEqual({
        errors: [{ message: 'The event broker is unavailable; retrying.', extensions: { code: 'UPSTREAM_UNAVAILABLE' } }],
      })
      expect(connection.raw()).not.toContain('ECONNREFUSED')
    } finally {
      await offline.close()
    }
  })
})
