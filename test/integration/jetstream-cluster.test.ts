/**
 * The function in front of a real 3-node JetStream cluster (nats-server 2.12), given every
 * node's URL in NATS_DEFAULT_URL: a stream connects past a dead node to a live one, and a
 * cluster that cannot answer for its streams (no meta leader: two of three nodes down) ends the
 * stream with UPSTREAM_UNAVAILABLE instead of taking the subject for one without history and
 * serving it live, at most once; once the cluster is whole the client resumes exactly.
 * On the Node entry (one shared connection) and on workerd (a connection per stream).
 */
import { wsconnect, type NatsConnection } from '@nats-io/nats-core'
import { jetstream, jetstreamManager, type JetStreamManager } from '@nats-io/jetstream'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ResumingEventSource } from '../support/faults/eventsource-client'
import { retry } from '../support/faults/retry'
import { waitFor } from '../support/faults/wait-for'
import { startNatsCluster, type NatsCluster } from '../support/nats-cluster'
import { currentNatsServerBinary } from '../support/nats-server'
import { uniqueName } from '../support/random'
import { eventsQuery, streamUrl, testSchema } from '../support/schemas'
import { openSse } from '../support/sse-client'
import { startTarget, type Target, type TargetName } from '../support/targets'

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i)

describe.each<TargetName>(['node', 'workerd'])('JetStream cluster on %s', (targetName) => {
  let cluster: NatsCluster
  let nc: NatsConnection
  let jsm: JetStreamManager
  let target: Target

  beforeAll(async () => {
    cluster = await startNatsCluster(currentNatsServerBinary())
    // The test's own connection knows every node and follows them through the kills.
    nc = await wsconnect({ servers: cluster.nodes.map((node) => node.wsUrl), maxReconnectAttempts: -1, reconnectTimeWait: 100 })
    jsm = await retry(() => jetstreamManager(nc, { timeout: 2000 }))
    target = await startTarget(targetName, { SCHEMA: testSchema, NATS_DEFAULT_URL: cluster.wsUrls, HEARTBEAT_SECONDS: '0.5' })
  }, 120_000)
  afterAll(async () => {
    await target?.close()
    await nc?.close()
    await cluster?.stop()
  })

  /** An R3 stream of `count` events `{ n }`, every replica current. */
  async function replicatedStream(count: number): Promise<{ name: string; query: string }> {
    const name = uniqueName('cluster')
    await retry(() => jsm.streams.add({ name, subjects: [`t.${name}.>`], num_replicas: 3 }))
    const js = jetstream(nc, { timeout: 2000 })
    for (const n of range(1, count)) await retry(() => js.publish(`t.${name}.a`, JSON.stringify({ n }), { msgID: `${n}` }))
    await whole(name)
    return { name, query: eventsQuery(name, 'a') }
  }

  /** `count` events as EventSource reads them: after UPSTREAM_UNAVAILABLE it comes back after retry: from its cursor. */
  async function readAsEventSource(url: string, count: number): Promise<{ numbers: number[]; lastEventId: string }> {
    const received: number[] = []
    const client = new ResumingEventSource({
      url,
      maxRetryMs: 1000,
      onEvent: (event, self) => {
        if (event.type === 'next') received.push(JSON.parse(event.data).data.events.n)
        if (received.length === count) self.close()
      },
    })
    await waitFor(() => received.length >= count || client.stats.failed !== undefined, 60_000, `the client has ${count} events`).finally(() => client.close())
    return { numbers: received, lastEventId: client.lastEventId }
  }

  const whole = (name: string) =>
    waitFor(
      async () => {
        const info = (await jsm.streams.info(name).catch(() => undefined))?.cluster
        return info?.leader !== undefined && (info.replicas ?? []).filter((r) => r.current && !r.offline).length === 2
      },
      60_000,
      `every replica of ${name} is current`,
    )

  it('connects past a dead node to a live one', { timeout: 120_000 }, async () => {
    const { name, query } = await replicatedStream(20)
    await cluster.kill(0)
    try {
      // If node 1 led the stream or the cluster, the two left elect a new leader first.
      await waitFor(
        async () => {
          const leader = (await jsm.streams.info(name).catch(() => undefined))?.cluster?.leader
          return leader !== undefined && leader !== 'n1' && (await jsm.streams.find(`t.${name}.a`).then(() => true, () => false))
        },
        60_000,
        `stream ${name} is led by a live node and found`,
      )
      // Whichever order a connection tries the nodes in, every client is served, exactly. (A stream
      // may still end once with UPSTREAM_UNAVAILABLE: the cluster can place its consumer on the dead
      // node, whose pull then goes unanswered; the client resumes.)
      for (let i = 0; i < 4; i++) expect(await readAsEventSource(streamUrl(target.baseUrl, query, { from: 'earliest' }), 20)).toMatchObject({ numbers: range(1, 20) })
    } finally {
      await cluster.start(0)
    }
    await whole(name)
  })

  it('ends with UPSTREAM_UNAVAILABLE while the cluster has no quorum, and resumes exactly once it is back', { timeout: 180_000 }, async () => {
    const { name, query } = await replicatedStream(10)
    const before = await readAsEventSource(streamUrl(target.baseUrl, query, { from: 'earliest' }), 6)
    expect(before.numbers).toEqual(range(1, 6))

    await cluster.kill(1)
    await cluster.kill(2)
    try {
      // Only node 1 is left, without a meta leader: it cannot say which stream captures the subject.
      const during = await openSse(streamUrl(target.baseUrl, query), { headers: { 'Last-Event-ID': before.lastEventId } })
      expect(during.status).toBe(200)
      const error = await during.next()
      expect(error?.event).toBe('error')
      expect(JSON.parse(error?.data ?? '{}').errors[0].extensions.code).toBe('UPSTREAM_UNAVAILABLE')
      expect(await during.next()).toBeUndefined()
    } finally {
      await cluster.start(1)
      await cluster.start(2)
    }
    await whole(name)

    // The streams of a cluster that is electing its leaders may still end with UPSTREAM_UNAVAILABLE.
    expect(await readAsEventSource(streamUrl(target.baseUrl, query, { lastEventId: before.lastEventId }), 4)).toMatchObject({ numbers: range(7, 10) })
  })
})
