/**
 * A 3-node JetStream cluster, the stream replicated on all three, the function given every
 * node's URL: the stream leader killed, the node the function is connected to killed, a node
 * partitioned from its peers, while events are published and clients read (some cutting
 * themselves off, some slow). Every client must get every event once, in order.
 */
import { startJetStreamClusterFeed } from '../support/faults/jetstream-cluster-feed'
import { FAULT_DURATIONS, scaled } from '../support/faults/scale'
import { describeReliability } from './reliability-suite'

describeReliability('NATS JetStream, 3-node cluster (R3)', 5, () => startJetStreamClusterFeed(FAULT_DURATIONS), {}, undefined, {
  scenarios: ['delivery'],
  delivery: {
    // Slow enough that each fault (seconds of election, restart and catching up) strikes while clients read.
    events: scaled(1500, 12_000),
    eventsPerSecond: 100,
    // Short: each kind once; long: each four times.
    faults: scaled(3, 12),
  },
  deliveryTimeoutMs: scaled(300_000, 1_800_000),
})
