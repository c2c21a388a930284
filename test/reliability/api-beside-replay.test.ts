/**
 * The streams of a Node process pull their messages through one shared NATS connection. When
 * many replay at once the server queues their messages for it, and whatever it sends behind
 * them waits: a new stream's JetStream API replies (stream lookup, info, consumer create)
 * missed their 5 s deadline, and the stream ended before its first event (the long overload
 * burst: 2,036 of 3,036 streams). The proxy holds everything the server sends on the connection
 * that carries pulls, a replay without end: with the API requests on a connection of their own,
 * a new stream still gets its consumer; on the one connection, its stream lookup times out.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { JetStreamProvider } from '../../src/providers/nats/jetstream-provider'
import { sharedConnection, type SharedConnectionOptions } from '../../src/providers/nats/nats-connection'
import type { ResolvedRoute } from '../../src/providers/provider'
import { startNatsWsProxy, type NatsWsProxy } from '../support/faults/nats-ws-proxy'
import { connectJetStream, type JetStreamAdmin } from '../support/jetstream'
import { uniqueName } from '../support/random'

const BACKLOG = 2000

describe('a new stream beside a replay that holds the shared connection', () => {
  let admin: JetStreamAdmin
  let proxy: NatsWsProxy

  beforeAll(async () => {
    admin = await connectJetStream(inject('natsWsUrl'))
    proxy = await startNatsWsProxy(inject('natsWsUrl'))
  })
  afterAll(async () => {
    await proxy?.close()
    await admin?.close()
  })

  /** A stream and a provider whose streams share a connection; each read from the earliest event stops once it has the whole backlog. */
  async function setUp(apiConnection: NonNullable<SharedConnectionOptions['apiConnection']>) {
    const name = uniqueName('apibeside')
    const subject = `t.${name}.a`
    await admin.createStream({ name, subjects: [`t.${name}.>`] })
    await admin.publish(subject, Array.from({ length: BACKLOG }, (_, n) => ({ n })))
    // Small pulls: the first stream is still replaying when the hold starts.
    const provider = new JetStreamProvider(sharedConnection({ servers: [proxy.url] }, 60_000, { apiConnection }), { batchSize: 100 })
    const route: ResolvedRoute = { kind: 'nats', providerId: 'default', names: [subject] }
    const read = (onEvent: () => void = () => {}) => {
      const abort = new AbortController()
      const numbers: number[] = []
      const done = (async () => {
        for await (const batch of provider.open(route, { from: 'earliest' }, abort.signal)) {
          for (const item of batch) if (item.type === 'event') numbers.push(JSON.parse(item.text).n)
          onEvent()
          if (numbers.length >= BACKLOG) abort.abort()
        }
      })()
      return { numbers, done }
    }
    /** The first stream, once its replay is held (from its first batch on). */
    const replaying = async () => {
      let held: (() => void) | undefined
      const holding = new Promise<void>((resolve) => (held = resolve))
      const first = read(() => {
        if (held === undefined) return
        proxy.holdPullDeliveries()
        held()
        held = undefined
      })
      await holding
      return first
    }
    return { name, read, replaying }
  }

  const wholeBacklog = Array.from({ length: BACKLOG }, (_, n) => n)

  it('API requests on a connection of their own: the new stream gets its consumer, and both read everything once, in order', { timeout: 30_000 }, async () => {
    const { name, read, replaying } = await setUp('own')
    const first = await replaying()
    expect(first.numbers.length).toBeLessThan(BACKLOG)
    const second = read()
    // The second stream's lookup, info and create were answered while the replay was held.
    await expect.poll(() => admin.consumerCount(name), { timeout: 10_000 }).toBe(2)
    expect(second.numbers).toEqual([])
    proxy.heal()
    await Promise.all([first.done, second.done])
    expect(first.numbers).toEqual(wholeBacklog)
    expect(second.numbers).toEqual(wholeBacklog)
  })

  it('API requests on the shared connection: the new stream fails on its stream lookup', { timeout: 30_000 }, async () => {
    const { name, read, replaying } = await setUp('shared')
    const first = await replaying()
    const second = read()
    const failure = await second.done.then(
      () => undefined,
      (error: Error) => error,
    )
    expect(failure?.name, 'the lookup timed out behind the replay').toMatch(/timeout/i)
    expect(await admin.consumerCount(name)).toBe(1)
    proxy.heal()
    await first.done
    expect(first.numbers).toEqual(wholeBacklog)
  })
})
