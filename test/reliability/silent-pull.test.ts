/**
 * A JetStream pull that the server never answers, on a connection that stays healthy
 * (its pings pass): the stream must end with a failure within a few idle heartbeats, and a
 * new stream from the last position must read on with nothing lost or repeated. Before pulls
 * asked for heartbeats such a stream waited forever. The proxy drops the pull requests
 * themselves, which is what a server that lost its waiting pulls looks like from here.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { JetStreamProvider } from '../../src/providers/nats/jetstream-provider'
import { connectionPerStream } from '../../src/providers/nats/nats-connection'
import type { ResolvedRoute, StartPosition } from '../../src/providers/provider'
import { startNatsWsProxy, type NatsWsProxy } from '../support/faults/nats-ws-proxy'
import { connectJetStream, type JetStreamAdmin } from '../support/jetstream'
import { uniqueName } from '../support/random'
import { eventsQuery, streamUrl, testSchema } from '../support/schemas'
import { openSse, readNextEvents, type SseEvent } from '../support/sse-client'
import { startTarget, type Target, type TargetName } from '../support/targets'

const servers = [
  ['nats-server 2.12', inject('natsWsUrl')],
  ['nats-server 2.9', inject('natsLegacyWsUrl')],
] as const

describe.each(servers)('a JetStream pull never answered on %s', (_server, natsUrl) => {
  let admin: JetStreamAdmin
  let proxy: NatsWsProxy

  beforeAll(async () => {
    admin = await connectJetStream(natsUrl)
    proxy = await startNatsWsProxy(natsUrl)
  })
  afterAll(async () => {
    await proxy?.close()
    await admin?.close()
  })

  it('ends the stream after two missed heartbeats; a new stream from its last position reads on exactly', async () => {
    const name = uniqueName('silentpull')
    const subject = `t.${name}.a`
    await admin.createStream({ name, subjects: [`t.${name}.>`] })
    await admin.publish(subject, [1, 2, 3].map((n) => ({ n })))
    // Short pulls, so that the pull waiting when the fault starts expires soon and its successor is the one lost.
    const provider = new JetStreamProvider(connectionPerStream({ servers: [proxy.url] }, 60_000), { pullExpiresMs: 1000, pullHeartbeatMs: 250 })
    const route: ResolvedRoute = { kind: 'nats', providerId: 'default', names: [subject] }
    const read = (start: StartPosition, until: (seen: { n: number; position: string }[]) => boolean) => {
      const abort = new AbortController()
      const seen: { n: number; position: string }[] = []
      const done = (async () => {
        for await (const batch of provider.open(route, start, abort.signal)) {
          for (const item of batch) if (item.type === 'event') seen.push({ n: JSON.parse(item.text).n, position: item.position! })
          if (until(seen)) abort.abort()
        }
      })()
      return { seen, done }
    }

    let swallowedBefore = 0
    const first = read({ from: 'earliest' }, (seen) => {
      if (seen.length === 3 && swallowedBefore === 0) {
        swallowedBefore = proxy.swallowed
        proxy.swallowPulls()
      }
      return false
    })
    const failure = await first.done.then(
      () => undefined,
      (error: Error) => error,
    )
    expect(failure?.message).toMatch(/heartbeats missed/)
    expect(proxy.swallowed, 'pulls were sent into the fault').toBeGreaterThan(swallowedBefore)
    expect(first.seen.map((e) => e.n)).toEqual([1, 2, 3])

    proxy.heal()
    await admin.publish(subject, [4, 5].map((n) => ({ n })))
    const second = read({ from: 'after', position: first.seen.at(-1)!.position }, (seen) => seen.length >= 2)
    await second.done
    expect(second.seen.map((e) => e.n)).toEqual([4, 5])
  })
})

// End to end: the heartbeat follows HEARTBEAT_SECONDS, and the timers run on each runtime's own clock.
describe.each(['node', 'workerd'] satisfies TargetName[])('a JetStream pull never answered, on %s', (targetName) => {
  let admin: JetStreamAdmin
  let proxy: NatsWsProxy
  let target: Target

  beforeAll(async () => {
    admin = await connectJetStream(inject('natsWsUrl'))
    proxy = await startNatsWsProxy(inject('natsWsUrl'))
    target = await startTarget(targetName, { SCHEMA: testSchema, NATS_DEFAULT_URL: proxy.url, HEARTBEAT_SECONDS: '0.5', RETRY_MS: '100' })
  })
  afterAll(async () => {
    await target?.close()
    await proxy?.close()
    await admin?.close()
  })

  it('ends the stream with UPSTREAM_UNAVAILABLE; the client resumes with nothing lost or repeated', async () => {
    const name = uniqueName('silentpull')
    await admin.createStream({ name, subjects: [`t.${name}.>`] })
    await admin.publish(`t.${name}.a`, [1, 2, 3].map((n) => ({ n })))
    const query = eventsQuery(name, 'a')
    const numbers = (events: SseEvent[]) => events.map((event) => JSON.parse(event.data).data.events.n as number)
    const first = await openSse(streamUrl(target.baseUrl, query, { from: 'earliest' }))
    const before = await readNextEvents(first, 2)
    first.cut()

    proxy.swallowPulls()
    const silent = await openSse(streamUrl(target.baseUrl, query), { headers: { 'Last-Event-ID': before.at(-1)!.id! } })
    let ending: SseEvent | undefined
    while ((ending = await silent.next()) && ending.event !== 'error') {
      expect(ending.event, 'no pull reaches the server').not.toBe('next')
    }
    expect(JSON.parse(ending!.data).errors[0].extensions.code).toBe('UPSTREAM_UNAVAILABLE')
    expect(await silent.next(), 'the stream closes after the error frame').toBeUndefined()

    proxy.heal()
    await admin.publish(`t.${name}.a`, [{ n: 4 }])
    const resumed = await openSse(streamUrl(target.baseUrl, query), { headers: { 'Last-Event-ID': before.at(-1)!.id! } })
    const after = await readNextEvents(resumed, 2)
    resumed.cut()
    expect([...numbers(before), ...numbers(after)]).toEqual([1, 2, 3, 4])
  })
})
