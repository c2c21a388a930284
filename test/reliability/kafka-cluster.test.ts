/**
 * Kafka on a 3-node KRaft cluster, each run's topic (three partitions) replicated on all
 * three, read through each HTTP protocol's translation: a partition's leader SIGKILLed
 * while events are published and clients read (some cutting themselves off, some slow).
 * Every client must get every event once, in partition order. Both protocols share one
 * cluster (three brokers take tens of seconds to start here).
 */
import { afterAll } from 'vitest'
import { startKafkaCluster, type KafkaCluster } from '../support/kafka/kafka-broker'
import type { Adapter } from '../support/kafka/kafka-fixtures'
import { startKafkaFeed } from '../support/faults/kafka-feed'
import { FAULT_DURATIONS, scaled } from '../support/faults/scale'
import { describeReliability } from './reliability-suite'

let cluster: Promise<KafkaCluster> | undefined
const sharedCluster = () => (cluster ??= startKafkaCluster())
afterAll(async () => {
  await (await cluster?.catch(() => undefined))?.stop()
})

const protocols: [Adapter, string, number][] = [
  ['redpanda', 'Redpanda HTTP Proxy protocol', 6],
  ['upstash', 'Upstash REST protocol', 7],
]
for (const [adapter, protocol, seedOffset] of protocols) {
  describeReliability(
    `Kafka, 3-broker cluster (RF 3), ${protocol}`,
    seedOffset,
    async () => startKafkaFeed(adapter, FAULT_DURATIONS, await sharedCluster()),
    // Polls of 500 ms and a 1 s allowance bound how long a request to a dead leader goes unnoticed.
    { KAFKA_DEFAULT_POLL_TIMEOUT_MS: '500', KAFKA_DEFAULT_REQUEST_TIMEOUT_MS: '1000' },
    undefined,
    {
      scenarios: ['delivery'],
      delivery: {
        // Slow enough that each kill (the 5 s session timeout, a restart, catching up) strikes while clients read.
        events: scaled(1500, 12_000),
        eventsPerSecond: 100,
        // Short: one kill; long: eight.
        faults: scaled(1, 8),
      },
      deliveryTimeoutMs: scaled(300_000, 1_800_000),
    },
  )
}
