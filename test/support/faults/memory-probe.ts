/**
 * Loaded with `--import` into the Node entry's process by node-process.ts, so the
 * tests can ask the function for its memory over IPC: `retained` is measured after
 * a full collection (what the process holds on to), `rss` as the kernel sees it.
 */
export interface MemorySample {
  /** heapUsed + external (ArrayBuffers included) after a full GC, in bytes. */
  retained: number
  rss: number
}

process.on('message', (message) => {
  if (message !== 'memory') return
  globalThis.gc?.()
  const { heapUsed, external, rss } = process.memoryUsage()
  process.send?.({ retained: heapUsed + external, rss } satisfies MemorySample)
})
