import { Kafka, logLevel, type Producer } from 'kafkajs'
import { KafkaBackend } from '../kafka/kafka-backend'
import { startKafkaBroker, type KafkaCluster } from '../kafka/kafka-broker'
import { startKafkaHttp, type Adapter } from '../kafka/kafka-fixtures'
import type { Delivery } from './delivery-count'
import { feedSchema, type Fault, type Feed } from './feed'
import { proxyFaults, type FaultDurations } from './proxy-faults'
import { retry } from './retry'
import { startTcpProxy } from './tcp-proxy'
import { waitFor } from './wait-for'

const PARTITIONS = 3
const topic = (run: string) => `rel.${run}`
/** A new leader (after the 5 s session timeout), a node's restart and its catching up all take seconds; bounded all the same. */
const RECOVERY_MS = 90_000

/**
 * Kafka: one of the HTTP translations in front of a broker, and the proxy between
 * the function and that HTTP endpoint. A run is one topic of three partitions; the
 * lane of an event is its partition. The broker is an own one, restarted among the
 * faults, unless `shared` names a running one (a broker takes 5 to 15 s to start and
 * as long to restart here: the short runs of `npm test` leave restarts out).
 *
 * On a 3-node `cluster` (shared, left running at close) topics are replicated on all
 * three and the one fault is the cluster's own: a partition's leader SIGKILLed while
 * clients read, lasting until another replica leads, the node is back and every
 * replica is in sync again.
 */
export async function startKafkaFeed(adapter: Adapter, durations: FaultDurations, shared?: string | KafkaCluster): Promise<Feed> {
  const cluster = typeof shared === 'object' ? shared : undefined
  const own = shared === undefined ? await startKafkaBroker() : undefined
  const bootstrap = own?.bootstrap ?? cluster?.bootstrap ?? (shared as string)
  const http = await startKafkaHttp(bootstrap, adapter)
  const proxy = await startTcpProxy(http.port)
  const kafka = new Kafka({ brokers: bootstrap.split(','), clientId: 'reliability-producer', logLevel: logLevel.NOTHING, retry: { retries: 10, maxRetryTime: 2000 } })
  const admin = kafka.admin()
  // Idempotent: a send retried after a lost acknowledgement is written once.
  const producer: Producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false })
  await Promise.all([admin.connect(), producer.connect()])
  const reader = new KafkaBackend(bootstrap)
  const runs: string[] = []

  return {
    provider: cluster ? `kafka-cluster-${adapter}` : 'kafka',
    env: {
      SCHEMA: feedSchema('@edfs__kafkaSubscribe(topics: ["rel.{{ args.run }}"], providerId: "default")'),
      KAFKA_DEFAULT_URL: `http://127.0.0.1:${proxy.port}`,
      KAFKA_DEFAULT_ADAPTER: adapter,
    },
    lanes: PARTITIONS,
    async prepare(run) {
      runs.push(run)
      await retry(() => admin.createTopics({ topics: [{ topic: topic(run), numPartitions: PARTITIONS, ...(cluster ? { replicationFactor: 3 } : {}) }], waitForLeaders: true }))
      if (cluster) await waitUntilInSync(admin, topic(run))
    },
    async publish(run, events) {
      // One send per partition: a retried send that spanned partitions would write again those whose leaders had taken it.
      for (let partition = 0; partition < PARTITIONS; partition++) {
        const messages = events.filter((e) => e.lane === partition).map((e) => ({ partition, value: JSON.stringify(e) }))
        if (messages.length > 0) await retry(() => producer.send({ topic: topic(run), messages }))
      }
    },
    async readLog(run) {
      const log: Delivery[] = []
      for (let partition = 0; partition < PARTITIONS; partition++) {
        const end = (await reader.offset(topic(run), partition, 'latest')) ?? 0
        for (let offset = (await reader.offset(topic(run), partition, 'earliest')) ?? 0; offset < end; ) {
          const outcome = await reader.fetch(topic(run), partition, offset, 100, 4_194_304)
          if (typeof outcome === 'string') throw new Error(`reading ${topic(run)}/${partition} at ${offset}: ${outcome}`)
          for (const record of outcome.records) {
            if (record.offset < offset) continue
            log.push(JSON.parse(record.value!.toString('utf8')) as Delivery)
            offset = record.offset + 1
          }
        }
      }
      return log
    },
    // Reads over HTTP hold nothing on the broker between requests; what the function holds is its HTTP connections.
    held: async () => ({ proxiedConnections: proxy.open }),
    faults: cluster
      ? [leaderKill(cluster, admin, () => runs.at(-1))]
      : [...proxyFaults(proxy, durations), ...(own ? [{ kind: 'broker-restart' as const, inject: () => own.restart() }] : [])],
    async close() {
      await Promise.all([producer.disconnect(), admin.disconnect()])
      await reader.close()
      await proxy.close()
      await http.close()
      await own?.stop()
    },
  }
}

type KafkaAdminClient = ReturnType<Kafka['admin']>

/** The leader of a seeded partition of the current run's topic SIGKILLed, then started again once another replica leads. */
function leaderKill(cluster: KafkaCluster, admin: KafkaAdminClient, currentRun: () => string | undefined): Fault {
  return {
    kind: 'leader-kill',
    async inject(random) {
      const run = currentRun()
      if (run === undefined) throw new Error('no run prepared')
      const partition = Math.floor(random() * PARTITIONS)
      const leaderOf = async () =>
        (await admin.fetchTopicMetadata({ topics: [topic(run)] }).catch(() => undefined))?.topics[0]?.partitions.find((p) => p.partitionId === partition)?.leader
      const leader = await retry(async () => (await leaderOf()) ?? Promise.reject(new Error('no metadata')))
      await cluster.kill(leader)
      // Fenced after the session timeout, the node's partitions are led by another in-sync replica.
      await waitFor(async () => {
        const now = await leaderOf()
        return now !== undefined && now >= 0 && now !== leader
      }, RECOVERY_MS, `${topic(run)}/${partition} has a leader other than node ${leader}`)
      await cluster.start(leader)
      await waitUntilInSync(admin, topic(run))
    },
  }
}

/** Every partition of the topic has a leader and all three replicas in sync. */
async function waitUntilInSync(admin: KafkaAdminClient, name: string): Promise<void> {
  await waitFor(
    async () => {
      const partitions = (await admin.fetchTopicMetadata({ topics: [name] }).catch(() => undefined))?.topics[0]?.partitions ?? []
      return partitions.length === PARTITIONS && partitions.every((p) => p.leader >= 0 && p.isr.length === 3)
    },
    RECOVERY_MS,
    `every partition of ${name} has three replicas in sync`,
  )
}
