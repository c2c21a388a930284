import { inject } from 'vitest'
import { startKafkaFeed } from '../support/faults/kafka-feed'
import { FAULT_DURATIONS, LONG } from '../support/faults/scale'
import { describeReliability } from './reliability-suite'

// Polls of 500 ms and a 1 s allowance bound how long a silent network goes unnoticed.
// Short runs read the shared test broker and leave broker restarts out; long runs restart an own one.
// The long load holds 500 streams: beyond that the test's own Redpanda-protocol translation (kafkajs,
// one broker connection per poll in flight, in the test process beside the clients) stops keeping up.
describeReliability(
  'Kafka (Redpanda HTTP Proxy protocol)',
  3,
  () => startKafkaFeed('redpanda', FAULT_DURATIONS, LONG ? undefined : inject('kafkaBootstrap')),
  { KAFKA_DEFAULT_POLL_TIMEOUT_MS: '500', KAFKA_DEFAULT_REQUEST_TIMEOUT_MS: '1000' },
  500,
)
