import { startRedisFeed } from '../support/faults/redis-feed'
import { FAULT_DURATIONS } from '../support/faults/scale'
import { describeReliability } from './reliability-suite'

// Blocking reads of 1 s and a 1 s allowance bound how long a silent network goes unnoticed.
describeReliability('Redis Streams', 2, () => startRedisFeed(FAULT_DURATIONS), {
  REDIS_DEFAULT_BLOCK_MS: '1000',
  REDIS_DEFAULT_REQUEST_TIMEOUT_MS: '1000',
})
