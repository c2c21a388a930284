/**
 * A consumer create whose answer never reaches the function: the server has made the consumer,
 * the function's request times out and the stream fails. The consumer must not stay behind for
 * its inactive threshold (minutes, with no reader): the function deletes it by its name. The
 * proxy lets the create through and drops the server's reply, or holds the create until the
 * function has deleted the consumer (the create then lands after the delete), on nats-server
 * 2.9 and 2.12.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import type { Subscription } from '@nats-io/nats-core'
import { JetStreamProvider } from '../../src/providers/nats/jetstream-provider'
import { connectionPerStream } from '../../src/providers/nats/nats-connection'
import type { ResolvedRoute } from '../../src/providers/provider'
import { startNatsWsProxy, type NatsWsProxy } from '../support/faults/nats-ws-proxy'
import { connectJetStream, type JetStreamAdmin } from '../support/jetstream'
import { uniqueName } from '../support/random'

const servers = [
  ['nats-server 2.12', inject('natsWsUrl')],
  ['nats-server 2.9', inject('natsLegacyWsUrl')],
] as const

describe.each(servers)('a consumer create answered too late, on %s', (_server, natsUrl) => {
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

  /** A stream's subject with one event, and the server's own account of its consumers' life (created, deleted). */
  async function setUp(prefix: string) {
    const name = uniqueName(prefix)
    const subject = `t.${name}.a`
    await admin.createStream({ name, subjects: [`t.${name}.>`] })
    await admin.publish(subject, [{ n: 1 }])
    const advisories = (kind: 'CREATED' | 'DELETED') => {
      const seen: string[] = []
      const subscription: Subscription = admin.nc.subscribe(`$JS.EVENT.ADVISORY.CONSUMER.${kind}.${name}.*`, {
        callback: (_error, message) => {
          seen.push(message.subject.split('.').at(-1) ?? '')
        },
      })
      return { seen, subscription }
    }
    const created = advisories('CREATED')
    const deleted = advisories('DELETED')
    await admin.nc.flush()
    return { name, subject, created, deleted }
  }

  /** A stream through the proxy, read until it fails; its events and its failure. */
  async function openThroughProxy(subject: string) {
    const provider = new JetStreamProvider(connectionPerStream({ servers: [proxy.url] }, 60_000))
    const route: ResolvedRoute = { kind: 'nats', providerId: 'default', names: [subject] }
    const events: unknown[] = []
    const failure = await (async () => {
      for await (const batch of provider.open(route, { from: 'earliest' }, new AbortController().signal)) events.push(...batch)
    })().then(
      () => undefined,
      (error: Error) => error,
    )
    return { events, failure }
  }

  it('fails the stream and leaves no consumer on the server', { timeout: 30_000 }, async () => {
    const { name, subject, created, deleted } = await setUp('lostcreate')
    proxy.dropConsumerCreateReplies()
    const { events, failure } = await openThroughProxy(subject)
    proxy.heal()

    expect(failure?.name, 'the create timed out on the function').toMatch(/timeout/i)
    expect(events).toEqual([])
    expect(proxy.droppedCreateReplies).toBe(1)
    await expect.poll(() => created.seen.length, { timeout: 5000 }).toBe(1)
    // Without the delete, the consumer would stay for its 5-minute inactive threshold.
    await expect.poll(() => admin.consumerCount(name), { timeout: 5000 }).toBe(0)
    expect(deleted.seen).toEqual(created.seen)
    created.subscription.unsubscribe()
    deleted.subscription.unsubscribe()
  })

  it('a create that lands after the delete meant to undo it: the consumer is looked up and deleted again', { timeout: 30_000 }, async () => {
    const { name, subject, created, deleted } = await setUp('latecreate')
    proxy.landCreatesAfterDeletes()
    const { events, failure } = await openThroughProxy(subject)
    proxy.heal()

    expect(failure?.name, 'the create timed out on the function').toMatch(/timeout/i)
    expect(events).toEqual([])
    expect(proxy.createsLandedLate).toBe(1)
    await expect.poll(() => created.seen.length, { timeout: 5000 }).toBe(1)
    // The first delete found nothing; without the look-up after it, the consumer would stay.
    expect(await admin.consumerCount(name)).toBe(0)
    await expect.poll(() => deleted.seen, { timeout: 5000 }).toEqual(created.seen)
    created.subscription.unsubscribe()
    deleted.subscription.unsubscribe()
  })
})
