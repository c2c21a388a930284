import { startMemoryFeed } from '../support/faults/memory-feed'
import { describeReliability } from './reliability-suite'

describeReliability('Embedded memory broker', 4, startMemoryFeed)
