/**
 * NATS JetStream on a 3-node cluster (nats-server 2.12), each run's stream replicated on all
 * three (R3). The function gets every node's WebSocket URL (NATS_DEFAULT_URL comma-separated)
 * and connects to any of them; its cursors are stream sequences, the same on every replica.
 *
 * The faults are the cluster's own: the stream's leader killed (SIGKILL), the node the function
 * is connected to killed, and one node cut off from its peers by the route proxies while it
 * keeps running and keeps its clients. Each fault lasts until the cluster is whole again: the
 * node back (or the partition healed) and every replica of the stream current.
 */
import { wsconnect } from '@nats-io/nats-core'
import { DeliverPolicy, jetstream, jetstreamManager, type JetStreamManager } from '@nats-io/jetstream'
import { startNatsCluster, type NatsCluster } from '../nats-cluster'
import { currentNatsServerBinary } from '../nats-server'
import type { Delivery } from './delivery-count'
import { feedSchema, type Fault, type Feed } from './feed'
import type { FaultDurations } from './proxy-faults'
import { retry } from './retry'
import { waitFor } from './wait-for'

const subject = (run: string) => `rel.${run}`
/** A new leader, a node's restart and its catching up all take seconds; bounded all the same. */
const RECOVERY_MS = 60_000

const between = (random: () => number, [min, max]: [number, number]) => min + Math.floor(random() * (max - min))

export async function startJetStreamClusterFeed(durations: FaultDurations): Promise<Feed & { cluster: NatsCluster }> {
  const cluster = await startNatsCluster(currentNatsServerBinary())
  // The admin connection knows every node and reconnects to another when its node dies.
  const nc = await wsconnect({ servers: cluster.nodes.map((node) => node.wsUrl), maxReconnectAttempts: -1, reconnectTimeWait: 100, name: 'reliability-admin' })
  // The producer holds a connection to each node and turns to the next after a failed publish: a
  // connection to a partitioned node stays up while the node cannot reach the stream's leader.
  const producerConnections = await Promise.all(
    cluster.nodes.map((node) => wsconnect({ servers: node.wsUrl, maxReconnectAttempts: -1, reconnectTimeWait: 100, name: 'reliability-producer' })),
  )
  const producers = producerConnections.map((connection) => jetstream(connection, { timeout: 2000 }))
  const js = jetstream(nc, { timeout: 2000 })
  let attempt = 0
  const producer = () => producers[attempt++ % producers.length] ?? js
  // JetStream answers once the cluster has elected its meta leader.
  const jsm = await retry(() => jetstreamManager(nc, { timeout: 2000 }))
  // During a fault the cluster is watched through a node the fault spares: the admin connection may
  // be on a partitioned node, whose API requests go unanswered until the partition heals.
  const nodeManagers = await Promise.all(producerConnections.map((connection) => retry(() => jetstreamManager(connection, { timeout: 2000 }))))
  const sparedBy = (index: number) => nodeManagers[(index + 1) % nodeManagers.length] ?? jsm
  const runs: string[] = []

  return {
    provider: 'jetstream-cluster',
    cluster,
    env: {
      SCHEMA: feedSchema('@edfs__natsSubscribe(subjects: ["rel.{{ args.run }}"], providerId: "default")'),
      NATS_DEFAULT_URL: cluster.wsUrls,
    },
    lanes: 1,
    async prepare(run) {
      runs.push(run)
      await retry(() => jsm.streams.add({ name: run, subjects: [subject(run)], num_replicas: 3 }))
      await waitUntilWhole(jsm, cluster, run)
    },
    async publish(run, events) {
      // The message id makes a retried publish land once (the duplicate window is replicated too).
      await retry(() => {
        const js = producer()
        return Promise.all(events.map((e) => js.publish(subject(run), JSON.stringify(e), { msgID: `${run}-${e.n}` })))
      })
    },
    async readLog(run) {
      const { state } = await retry(() => jsm.streams.info(run))
      const consumer = await retry(() => js.consumers.get(run, { deliver_policy: DeliverPolicy.All }))
      const log: Delivery[] = []
      while (log.length < state.messages) {
        const batch = await consumer.fetch({ max_messages: 5000, expires: 2000 })
        for await (const m of batch) log.push(m.json<Delivery>())
      }
      await consumer.delete()
      return log
    },
    async held(run) {
      const connections = await Promise.all(cluster.nodes.map((node, i) => (node.running ? functionConnections(cluster, i) : 0)))
      return {
        consumers: (await retry(() => jsm.streams.info(run))).state.consumer_count,
        connections: connections.reduce((a, b) => a + b, 0),
      }
    },
    faults: clusterFaults(cluster, jsm, sparedBy, () => runs.at(-1), durations),
    async close() {
      await Promise.all(producerConnections.map((connection) => connection.close()))
      await nc.close()
      await cluster.stop()
    },
  }
}

function clusterFaults(
  cluster: NatsCluster,
  jsm: JetStreamManager,
  /** A manager connected to another node than `index`. */
  sparedBy: (index: number) => JetStreamManager,
  currentRun: () => string | undefined,
  durations: FaultDurations,
): Fault[] {
  const run = () => {
    const name = currentRun()
    if (name === undefined) throw new Error('no run prepared')
    return name
  }
  const leaderOf = async (stream: string) => cluster.indexOf((await retry(() => jsm.streams.info(stream))).cluster?.leader ?? '')
  const killAndRestart = async (index: number) => {
    await cluster.kill(index)
    // Raft elects a new leader among the two left before the node comes back.
    await waitUntilLed(sparedBy(index), cluster, run(), index)
    await cluster.start(index)
    await waitUntilWhole(sparedBy(index), cluster, run())
  }
  return [
    {
      kind: 'leader-kill',
      inject: async () => killAndRestart(await leaderOf(run())),
    },
    {
      kind: 'connected-node-kill',
      inject: async (random) => {
        // The node holding most of the function's connections (any, if it holds none right now).
        const counts = await Promise.all(cluster.nodes.map((_, i) => functionConnections(cluster, i)))
        const most = Math.max(...counts)
        await killAndRestart(most > 0 ? counts.indexOf(most) : Math.floor(random() * cluster.nodes.length))
      },
    },
    {
      kind: 'node-partition',
      inject: async (random) => {
        // The leader half of the time: its partition forces an election; another node's, a minority that cannot serve.
        const leader = await leaderOf(run())
        const index = random() < 0.5 ? leader : (leader + 1 + Math.floor(random() * (cluster.nodes.length - 1))) % cluster.nodes.length
        cluster.partition(index)
        await waitFor(async () => (await cluster.routes(index)) === 0, RECOVERY_MS, `node ${index + 1} lost its routes`)
        if (index === leader) await waitUntilLed(sparedBy(index), cluster, run(), index)
        await new Promise((resolve) => setTimeout(resolve, between(random, durations.blackholeMs)))
        cluster.heal(index)
        await waitUntilWhole(sparedBy(index), cluster, run())
      },
    },
  ]
}

/** The function's connections (named edge-stream) on node `index`, from its monitoring port. */
async function functionConnections(cluster: NatsCluster, index: number): Promise<number> {
  const connz = (await (await fetch(`${cluster.nodes[index]?.monitorUrl}/connz?limit=100000`)).json()) as { connections?: { name?: string }[] }
  return (connz.connections ?? []).filter((c) => c.name === 'edge-stream').length
}

/** The stream has a leader other than node `not`. */
async function waitUntilLed(jsm: JetStreamManager, cluster: NatsCluster, stream: string, not: number): Promise<void> {
  await waitFor(
    async () => {
      const leader = (await jsm.streams.info(stream).catch(() => undefined))?.cluster?.leader
      return leader !== undefined && leader !== cluster.nodes[not]?.name
    },
    RECOVERY_MS,
    `stream ${stream} has a leader other than node ${not + 1}`,
  )
}

/** The stream has a leader and two replicas, both current. */
async function waitUntilWhole(jsm: JetStreamManager, cluster: NatsCluster, stream: string): Promise<void> {
  await waitFor(
    async () => {
      const info = (await jsm.streams.info(stream).catch(() => undefined))?.cluster
      const replicas = info?.replicas ?? []
      return info?.leader !== undefined && replicas.length === cluster.nodes.length - 1 && replicas.every((r) => r.current && !r.offline)
    },
    RECOVERY_MS,
    `every replica of stream ${stream} is current`,
  )
}
