/**
 * The Node entry exactly as `npm start` runs it, plus probes for the benchmark
 * that spawned it, over IPC: `memory` collects garbage and answers the resident set
 * size and the JS heap in use; `cpu` answers the CPU time used so far (user + system,
 * microseconds).
 */
import '../src/runtime/node'

process.on('message', (message) => {
  if (message === 'memory') {
    globalThis.gc?.()
    const { rss, heapUsed } = process.memoryUsage()
    process.send?.({ rss, heapUsed })
  } else if (message === 'cpu') {
    const { user, system } = process.cpuUsage()
    process.send?.({ cpu: user + system })
  }
})
