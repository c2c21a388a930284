import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { routeObjectName } from '../../src/edge/route-object'
import { connectJetStream, type JetStreamAdmin } from '../support/jetstream'
import { currentNatsServerBinary, startNatsServer, type NatsServer } from '../support/nats-server'
import { uniqueName } from '../support/random'
import { Follower } from '../support/resuming-follower'
import { eventsQuery, streamUrl, testSchema } from '../support/schemas'
import { followAcrossCleanEnds, openSse, readNextEvents, type SseConnection } from '../support/sse-client'
import { startWorkerWithRouteObjects, type RouteObjectsTarget } from '../support/workers-route-objects'

// Durable Object fan-out on Workers, in workerd with the RouteReader object bound as the shipped
// wrangler.toml binds it, against a real nats-server of its own (so that its consumers and
// connections can be counted): the streams of one route read through one object, with one NATS
// connection and, at the head, one JetStream consumer.

const STREAMS = 100

/** Reads `connection` to its end, as EventSource would until it reconnects: how many `next` events it got. */
async function drained(connection: SseConnection): Promise<number> {
  let events = 0
  for (let event = await connection.next(); event !== undefined; event = await connection.next()) if (event.event === 'next') events++
  return events
}

describe('Durable Object fan-out of a JetStream route on Workers', () => {
  let nats: NatsServer
  let admin: JetStreamAdmin
  let target: RouteObjectsTarget
  const stream = uniqueName('fanout')
  const subject = `t.${stream}.a`
  const url = (params: Record<string, string> = {}) => streamUrl(target.baseUrl, eventsQuery(stream, 'a'), params)
  let next = 0
  const publish = (count: number) => admin.publish(subject, Array.from({ length: count }, () => ({ n: next++ })))
  /** Consumers that took the event just published (an abandoned one stays behind). */
  const deliveringConsumersWhilePublishing = async () => {
    const [seq] = await publish(1)
    const consumers = await admin.jsm.consumers.list(stream).next()
    return consumers.filter((c) => c.delivered.stream_seq === seq).length
  }
  const connections = async () => ((await (await fetch(`${nats.monitorUrl}/connz`)).json()) as { num_connections: number }).num_connections

  beforeAll(async () => {
    nats = await startNatsServer(currentNatsServerBinary())
    admin = await connectJetStream(nats.wsUrl)
    await admin.createStream({ name: stream, subjects: [`t.${stream}.>`] })
    // A client that left is noticed by workerd when the next heartbeat cannot be written: soon, with 1 s.
    target = await startWorkerWithRouteObjects({ SCHEMA: testSchema, NATS_DEFAULT_URL: nats.wsUrl, HEARTBEAT_SECONDS: '1' })
  })
  afterAll(async () => {
    await target?.close()
    await admin?.close()
    await nats?.stop()
  })

  /** Live streams, attached: each has received a probe event (published until all have one). */
  async function attachedFollowers(count: number): Promise<Follower[]> {
    const followers = Array.from({ length: count }, () => new Follower(url()))
    for (let probes = 0; probes < 200 && followers.some((f) => f.received.length === 0); probes++) {
      await publish(1)
      await expect.poll(() => followers.every((f) => f.received.length > 0), { timeout: 500 }).toBe(true).catch(() => {})
    }
    expect(followers.every((f) => f.received.length > 0)).toBe(true)
    return followers
  }

  const expectAllFrom = (follower: Follower, first: number, last: number) => {
    const from = follower.received.indexOf(first)
    expect(from, 'the stream got the first event').toBeGreaterThanOrEqual(0)
    expect(follower.received.slice(from)).toEqual(Array.from({ length: last - first + 1 }, (_, i) => first + i))
  }

  it(`${STREAMS} streams on one subject: one consumer and one NATS connection for the route; every stream gets every event once, in order`, async () => {
    const followers = await attachedFollowers(STREAMS)
    try {
      expect(await admin.consumerCount(stream)).toBe(1)
      // The test's own connection and the object's.
      expect(await connections()).toBe(2)
      const first = next
      await publish(300)
      await expect.poll(() => followers.every((f) => f.received.at(-1) === next - 1), { timeout: 30_000 }).toBe(true)
      for (const follower of followers) expectAllFrom(follower, first, next - 1)
      expect(followers.every((f) => f.ends === 0)).toBe(true)
      expect(await admin.consumerCount(stream)).toBe(1)
    } finally {
      await Promise.all(followers.map((f) => f.stop()))
    }
    // The last stream gone, the object releases its consumer.
    await expect.poll(() => admin.consumerCount(stream), { timeout: 15_000 }).toBe(0)
  })

  it('the object aborted mid-stream: every stream ends without complete and resumes exactly through a new instance', async () => {
    // One stream read raw, to see how a broken object ends its client's response.
    const watched = await openSse(url())
    const watchedEnds = drained(watched)
    const followers = await attachedFollowers(STREAMS)
    try {
      const first = next
      await publish(100)
      await expect.poll(() => followers.every((f) => f.received.at(-1) === next - 1), { timeout: 30_000 }).toBe(true)
      await target.abortRoute(routeObjectName({ kind: 'nats', providerId: 'default', names: [subject] }))
      // As a cut connection ends: no error frame, no complete (the Worker does not read the body).
      expect(await watchedEnds, 'events the raw stream got before the break').toBeGreaterThan(0)
      expect(watched.raw()).not.toMatch(/event: (complete|error)/)
      await publish(100)
      await expect.poll(() => followers.every((f) => f.ends > 0), { timeout: 30_000 }).toBe(true)
      await publish(100)
      await expect.poll(() => followers.every((f) => f.received.at(-1) === next - 1), { timeout: 30_000 }).toBe(true)
      for (const follower of followers) expectAllFrom(follower, first, next - 1)
      // Resumed streams read behind on their own in the new instance, then share its reader again as
      // events flow. The aborted instance could not delete its consumer: it stays behind, idle, until the
      // server expires it (its inactive threshold).
      await expect.poll(deliveringConsumersWhilePublishing, { timeout: 20_000 }).toBe(1)
    } finally {
      watched.cut()
      await Promise.all(followers.map((f) => f.stop()))
    }
  })

  it('streams through the object open with a jittered retry: the clients of a broken object come back spread out', async () => {
    // A route of its own: these streams only open.
    const spreadRoute = streamUrl(target.baseUrl, eventsQuery(stream, 'spread'))
    const cut = new AbortController()
    const openingFrame = async () => {
      const response = await fetch(spreadRoute, { signal: cut.signal })
      const reader = (response.body as ReadableStream<Uint8Array>).getReader()
      const decoder = new TextDecoder()
      let text = ''
      while (!text.includes('\n\n')) {
        const { done, value } = await reader.read()
        if (done) break
        text += decoder.decode(value, { stream: true })
      }
      return text
    }
    try {
      const retries = (await Promise.all(Array.from({ length: 10 }, openingFrame))).map((text) => {
        expect(text).toMatch(/^retry: \d+\n: ok\n\n/)
        return Number(/^retry: (\d+)/.exec(text)?.[1])
      })
      // RETRY_MS is 2000 here: each between it and twice it, and not all alike.
      for (const retry of retries) {
        expect(retry).toBeGreaterThanOrEqual(2000)
        expect(retry).toBeLessThanOrEqual(4000)
      }
      expect(new Set(retries).size).toBeGreaterThan(1)
    } finally {
      cut.abort()
    }
  })

  it('a stream that starts behind catches up on its own and attaches: nothing lost or repeated', async () => {
    const followers = await attachedFollowers(10)
    const late = new Follower(url({ from: 'earliest' }))
    try {
      await publish(200)
      await expect.poll(() => late.received.at(-1) === next - 1 && followers.every((f) => f.received.at(-1) === next - 1), { timeout: 30_000 }).toBe(true)
      // Once caught up it reads through the shared reader: one consumer again.
      await expect.poll(deliveringConsumersWhilePublishing, { timeout: 20_000 }).toBe(1)
      await publish(100)
      await expect.poll(() => late.received.at(-1) === next - 1, { timeout: 30_000 }).toBe(true)
      expect(late.received).toEqual(Array.from({ length: next }, (_, n) => n))
      expect(late.ends).toBe(0)
    } finally {
      await Promise.all([...followers, late].map((f) => f.stop()))
    }
  })

  it('a stream whose client stops reading never delays the others, and loses nothing when it reads again', { timeout: 120_000 }, async () => {
    const stalled = await openSse(url({}), {})
    const followers = await attachedFollowers(10)
    const [firstOfStalled] = await readNextEvents(stalled, 1)
    const from = JSON.parse(firstOfStalled!.data).data.events.n as number
    // Far more than the sockets between the object and a client hold: the stalled stream's backlog
    // passes its limit in the object (it detaches, to read on its own later) while the others read on.
    const label = 'x'.repeat(1500)
    const first = next
    await admin.publish(subject, Array.from({ length: 3000 }, () => ({ n: next++, label })))
    await expect.poll(() => followers.every((f) => f.received.at(-1) === next - 1), { timeout: 60_000 }).toBe(true)
    for (const follower of followers) expectAllFrom(follower, first, next - 1)
    await Promise.all(followers.map((f) => f.stop()))

    const rest = await readNextEvents(stalled, next - 1 - from)
    stalled.cut()
    expect(rest.map((event) => JSON.parse(event.data).data.events.n)).toEqual(Array.from({ length: next - 1 - from }, (_, i) => from + 1 + i))
  })
})

describe('the limits of a stream run in the route object', () => {
  let nats: NatsServer
  let admin: JetStreamAdmin
  let target: RouteObjectsTarget
  const stream = uniqueName('objlimits')
  const subject = `t.${stream}.a`
  const url = (params: Record<string, string> = {}) => streamUrl(target.baseUrl, eventsQuery(stream, 'a'), params)

  beforeAll(async () => {
    nats = await startNatsServer(currentNatsServerBinary())
    admin = await connectJetStream(nats.wsUrl)
    await admin.createStream({ name: stream, subjects: [`t.${stream}.>`] })
    target = await startWorkerWithRouteObjects({ SCHEMA: testSchema, NATS_DEFAULT_URL: nats.wsUrl, HEARTBEAT_SECONDS: '1', MAX_STREAM_EVENTS: '25', MAX_STREAMS: '2' })
  })
  afterAll(async () => {
    await target?.close()
    await admin?.close()
    await nats?.stop()
  })

  it('MAX_STREAM_EVENTS: the object ends the stream after the batch that reaches it, cleanly, and it resumes exactly', async () => {
    const total = 120
    const received: number[] = []
    // Ended by the object, as at MAX_STREAM_SECONDS: no error, no complete.
    const following = followAcrossCleanEnds(
      (lastEventId) => url(lastEventId === undefined ? { from: 'earliest' } : {}),
      (data) => received.push((data.events as { n: number }).n) === total,
      50,
    )
    // Chunks of 10, each once the last arrived: a connection's batches stay small, so it ends within a chunk past 25.
    for (let chunk = 0; chunk < total / 10; chunk++) {
      await admin.publish(subject, Array.from({ length: 10 }, (_, i) => ({ n: chunk * 10 + i })))
      await expect.poll(() => received.length, { timeout: 30_000 }).toBe((chunk + 1) * 10)
    }
    await following.done
    expect(received).toEqual(Array.from({ length: total }, (_, n) => n))
    expect(following.ends()).toBeGreaterThanOrEqual(Math.floor(total / 35))
  })

  it('MAX_STREAMS holds per route object: the object’s 503 OVERLOADED reaches the client as the object answered it', async () => {
    // A route of its own, so that its object holds no stream of the other case.
    const otherRoute = streamUrl(target.baseUrl, eventsQuery(stream, 'b'))
    const open = [await openSse(otherRoute), await openSse(otherRoute)]
    try {
      expect(open.map((connection) => connection.status)).toEqual([200, 200])
      const refused = await fetch(otherRoute)
      expect(refused.status).toBe(503)
      expect(refused.headers.get('Retry-After')).toMatch(/^\d+$/)
      expect((await refused.json()).errors[0].extensions.code).toBe('OVERLOADED')
    } finally {
      for (const connection of open) connection.cut()
    }
  })
})
