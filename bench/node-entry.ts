/**
 * The Node entry exactly as `npm start` runs it, plus probes for the benchmark
 * that spawned it, over IPC: `memory` collects garbage and answers the resident set
 * size, the JS heap in use and the young generation's resident memory; `cpu` answers
 * the CPU time used so far (user + system, microseconds).
 */
import { getHeapSpaceStatistics } from 'node:v8'
import '../src/runtime/node'

/** V8's young generation: its size follows the allocation rate, up to a fixed maximum, not what stays alive. */
const YOUNG_SPACES = new Set(['new_space', 'new_large_object_space'])

process.on('message', (message) => {
  if (message === 'memory') {
    globalThis.gc?.()
    const { rss, heapUsed } = process.memoryUsage()
    const youngBytes = getHeapSpaceStatistics()
      .filter((space) => YOUNG_SPACES.has(space.space_name))
      .reduce((sum, space) => sum + space.physical_space_size, 0)
    process.send?.({ rss, heapUsed, youngBytes })
  } else if (message === 'cpu') {
    const { user, system } = process.cpuUsage()
    process.send?.({ cpu: user + system })
  }
})
