/**
 * A 3-node JetStream cluster, the stream replicated on all three, the function given every
 * node's URL: the stream leader killed, the node the function is connected to killed, a node
 * partitioned from its peers, while events are published and clients read (some cutting
 * themselves off, some slow). Half the events are in the stream before the clients come, and
 * the slow clients read slower than the producer publishes: they are still replaying when the
 * faults strike, while the others read live. Every client must get every event once, in order.
 */
import { startJetStreamClusterFeed } from '../support/faults/jetstream-cluster-feed'
import { FAULT_DURATIONS, scaled } from '../support/faults/scale'
import { describeReliability } from './reliability-suite'

describeReliability('NATS JetStream, 3-node cluster (R3)', 5, () => startJetStreamClusterFeed(FAULT_DURATIONS), {}, undefined, {
  scenarios: ['delivery'],
  delivery: {
    // Slow enough that each fault (seconds of election, restart and catching up) strikes while clients read.
    events: scaled(1500, 12_000),
    backlog: scaled(750, 6000),
    eventsPerSecond: 100,
    // About 55 (short) or 165 (long) events a second against 100 published: the long run's slow clients
    // catch up on the backlog over about 90 s, the short run's never before the producer stops.
    slowBytesPerSecond: scaled(5000, 15_000),
    // Short: each kind once; long: each four times.
    faults: scaled(3, 12),
  },
  deliveryTimeoutMs: scaled(300_000, 1_800_000),
  strikeReplayAndLive: ['leader-kill'],
})
