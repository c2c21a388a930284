import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { connectJetStream, type JetStreamAdmin } from '../support/jetstream'
import { eventsQuery, streamUrl, testSchema } from '../support/schemas'
import { openSse, readNextEvents } from '../support/sse-client'
import { startTarget, type Target, type TargetName } from '../support/targets'
import { uniqueName } from '../support/random'

const numbers = (events: { data: string }[]) => events.map((e) => JSON.parse(e.data).data.events.n as number)
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i)

describe.each<TargetName>(['node', 'workerd', 'edge'])('JetStream resume on %s', (targetName) => {
  let admin: JetStreamAdmin
  let target: Target

  beforeAll(async () => {
    // workerd (behind Miniflare) notices a gone client when a write fails; heartbeats bound that delay.
    admin = await connectJetStream(inject('natsWsUrl'))
    target = await startTarget(targetName, { SCHEMA: testSchema, NATS_DEFAULT_URL: inject('natsWsUrl'), HEARTBEAT_SECONDS: '0.5' })
  })
  afterAll(async () => {
    await target?.close()
    await admin?.close()
  })

  it('continues after a cut with exactly the events after Last-Event-ID', async () => {
    const stream = uniqueName('resume')
    await admin.createStream({ name: stream, subjects: [`t.${stream}.>`] })
    await admin.publish(`t.${stream}.a`, range(1, 1000).map((n) => ({ n })))
    const query = eventsQuery(stream, 'a')

    const first = await openSse(streamUrl(target.baseUrl, query, { from: 'earliest' }))
    expect(first.status).toBe(200)
    const before = await readNextEvents(first, 300)
    first.cut()
    expect(numbers(before)).toEqual(range(1, 300))
    const lastEventId = before.at(-1)!.id!

    const second = await openSse(streamUrl(target.baseUrl, query), { headers: { 'Last-Event-ID': lastEventId } })
    const after = await readNextEvents(second, 700)
    expect(numbers(after)).toEqual(range(301, 1000))
    // Nothing else was queued before a new event: the next one is the one published now.
    await admin.publish(`t.${stream}.a`, [{ n: 1001 }])
    expect(numbers(await readNextEvents(second, 1))).toEqual([1001])
    second.cut()
    expect(new Set([...before, ...after].map((e) => e.id)).size).toBe(1000)
  })

  it('ends with UPSTREAM_UNAVAILABLE when its consumer is deleted under it; the resume loses nothing', async () => {
    const stream = uniqueName('deleted')
    const subject = `t.${stream}.a`
    await admin.createStream({ name: stream, subjects: [`t.${stream}.>`] })
    await admin.publish(subject, range(1, 5).map((n) => ({ n })))
    const query = eventsQuery(stream, 'a')

    const first = await openSse(streamUrl(target.baseUrl, query, { from: 'earliest' }))
    const before = await readNextEvents(first, 5)
    // The stream now waits on a pull of its consumer; an operator (or a server limit) deletes it.
    const consumers = await admin.jsm.consumers.list(stream).next()
    expect(consumers).toHaveLength(1)
    await admin.jsm.consumers.delete(stream, consumers[0]!.name)
    const error = await first.next()
    expect(error?.event).toBe('error')
    expect(JSON.parse(error!.data).errors[0].extensions.code).toBe('UPSTREAM_UNAVAILABLE')
    expect(await first.next()).toBeUndefined()

    await admin.publish(subject, range(6, 8).map((n) => ({ n })))
    const second = await openSse(streamUrl(target.baseUrl, query), { headers: { 'Last-Event-ID': before.at(-1)!.id! } })
    expect(numbers(await readNextEvents(second, 3))).toEqual(range(6, 8))
    second.cut()
  })

  it('releases the broker consumer when the client goes away', async () => {
    const stream = uniqueName('release')
    await admin.createStream({ name: stream, subjects: [`t.${stream}.>`] })
    await admin.publish(`t.${stream}.a`, [{ n: 1 }])
    const connection = await openSse(streamUrl(target.baseUrl, eventsQuery(stream, 'a'), { from: 'earliest' }))
    await readNextEvents(connection, 1)
    expect(await admin.consumerCount(stream)).toBe(1)
    connection.cut()
    await expect.poll(() => admin.consumerCount(stream), { timeout: 10_000, interval: 50 }).toBe(0)
  })
})
