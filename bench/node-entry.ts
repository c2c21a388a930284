/**
 * The Node entry exactly as `npm start` runs it, plus probes for the benchmark
 * that spawned it, over IPC: `rss` collects garbage and answers the resident set
 * size; `cpu` answers the CPU time used so far (user + system, microseconds).
 */
import '../src/runtime/node'

process.on('message', (message) => {
  if (message === 'rss') {
    globalThis.gc?.()
    process.send?.({ rss: process.memoryUsage().rss })
  } else if (message === 'cpu') {
    const { user, system } = process.cpuUsage()
    process.send?.({ cpu: user + system })
  }
})
