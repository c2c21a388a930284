/** Live fan-out on the Node entry against the real nats-server: one JetStream consumer per route, however many streams. */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { connectJetStream, type JetStreamAdmin } from '../support/jetstream'
import { uniqueName } from '../support/random'
import { eventsQuery, streamUrl, testSchema } from '../support/schemas'
import { openSse, readNextEvents, type SseEvent } from '../support/sse-client'
import { startTarget, type Target } from '../support/targets'

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i)
const numbers = (events: SseEvent[]) => events.map((e) => JSON.parse(e.data).data.events.n as number)

describe('Live fan-out on the Node entry', () => {
  let admin: JetStreamAdmin
  let target: Target

  beforeAll(async () => {
    admin = await connectJetStream(inject('natsWsUrl'))
    target = await startTarget('node', { SCHEMA: testSchema, NATS_DEFAULT_URL: inject('natsWsUrl') })
  })
  afterAll(async () => {
    await target?.close()
    await admin?.close()
  })

  it('serves 50 live streams of one subject from one consumer, each event once to each, in order', async () => {
    const stream = uniqueName('fanout')
    await admin.createStream({ name: stream, subjects: [`t.${stream}.>`] })
    const query = eventsQuery(stream, 'a')
    // A stream is on the shared reader once its response has started; the reader reads
    // from the live end once its consumer exists.
    const clients = await Promise.all(range(1, 50).map(() => openSse(streamUrl(target.baseUrl, query))))
    await expect.poll(() => admin.consumerCount(stream), { timeout: 10_000, interval: 20 }).toBe(1)

    await admin.publish(`t.${stream}.a`, range(1, 200).map((n) => ({ n })))
    await admin.publish(`t.${stream}.other`, [{ n: 0 }])
    await admin.publish(`t.${stream}.a`, [{ n: 201 }])
    const received = await Promise.all(clients.map((client) => readNextEvents(client, 201)))
    for (const events of received) {
      expect(numbers(events)).toEqual(range(1, 201))
      expect(events.map((e) => e.id)).toEqual(received[0]!.map((e) => e.id))
    }
    expect(await admin.consumerCount(stream)).toBe(1)

    for (const client of clients) client.cut()
    await expect.poll(() => admin.consumerCount(stream), { timeout: 10_000, interval: 50 }).toBe(0)
  })

  it('a stream whose client stops reading holds up no other, and gets every event once, in order, when it reads again', { timeout: 120_000 }, async () => {
    const stream = uniqueName('stall')
    await admin.createStream({ name: stream, subjects: [`t.${stream}.>`] })
    const query = eventsQuery(stream, 'a', 'n label')
    const stalled = await openSse(streamUrl(target.baseUrl, query))
    const readers = await Promise.all(range(1, 10).map(() => openSse(streamUrl(target.baseUrl, query))))
    await expect.poll(() => admin.consumerCount(stream), { timeout: 10_000, interval: 20 }).toBe(1)

    // About 9 MB: more than the stalled stream's socket buffers and write queue hold, so its
    // writes wait and its backlog on the shared reader passes its limit while the others read on.
    const label = 'x'.repeat(1500)
    const total = 6000
    const reading = Promise.all(readers.map((reader) => readNextEvents(reader, total)))
    await admin.publish(`t.${stream}.a`, range(1, total).map((n) => ({ n, label })))
    for (const events of await reading) expect(numbers(events)).toEqual(range(1, total))
    for (const reader of readers) reader.cut()

    expect(numbers(await readNextEvents(stalled, total))).toEqual(range(1, total))
    stalled.cut()
    await expect.poll(() => admin.consumerCount(stream), { timeout: 10_000, interval: 50 }).toBe(0)
  })

  it('moves a resumed stream that caught up onto the shared consumer, losing and repeating nothing', async () => {
    const stream = uniqueName('join')
    const subject = `t.${stream}.a`
    await admin.createStream({ name: stream, subjects: [`t.${stream}.>`] })
    const query = eventsQuery(stream, 'a')
    const live = await openSse(streamUrl(target.baseUrl, query))
    await expect.poll(() => admin.consumerCount(stream), { timeout: 10_000, interval: 20 }).toBe(1)
    await admin.publish(subject, range(1, 3).map((n) => ({ n })))
    const first = await readNextEvents(live, 3)
    expect(numbers(first)).toEqual([1, 2, 3])

    // Resumed after event 2, it reads event 3 with a consumer of its own, then joins the shared one.
    const resumed = await openSse(streamUrl(target.baseUrl, query), { headers: { 'Last-Event-ID': first[1]!.id! } })
    expect(numbers(await readNextEvents(resumed, 1))).toEqual([3])
    await expect.poll(() => admin.consumerCount(stream), { timeout: 10_000, interval: 20 }).toBe(1)

    await admin.publish(subject, range(4, 50).map((n) => ({ n })))
    expect(numbers(await readNextEvents(resumed, 47))).toEqual(range(4, 50))
    expect(numbers(await readNextEvents(live, 47))).toEqual(range(4, 50))
    live.cut()
    resumed.cut()
    await expect.poll(() => admin.consumerCount(stream), { timeout: 10_000, interval: 50 }).toBe(0)
  })
})
