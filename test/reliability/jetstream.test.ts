import { startJetStreamFeed } from '../support/faults/jetstream-feed'
import { FAULT_DURATIONS } from '../support/faults/scale'
import { describeReliability } from './reliability-suite'

describeReliability('NATS JetStream', 1, () => startJetStreamFeed(FAULT_DURATIONS))
