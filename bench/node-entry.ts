/**
 * The Node entry exactly as `npm start` runs it, plus a memory probe for the
 * benchmark that spawned it: on the IPC message `rss` it collects garbage and
 * answers its resident set size.
 */
import '../src/runtime/node'

process.on('message', (message) => {
  if (message !== 'rss') return
  globalThis.gc?.()
  process.send?.({ rss: process.memoryUsage().rss })
})
