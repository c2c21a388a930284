import { countDeliveries, type Delivery, type DeliveryCount } from './delivery-count'
import { ResumingEventSource } from './eventsource-client'
import { feedUrl, type Feed, type PublishedEvent } from './feed'
import type { NodeProcess } from './node-process'
import { MemorySampler } from './memory-sampler'

export interface BackpressureOptions {
  feed: Feed
  fn: NodeProcess
  seed: number
  events: number
  payloadBytes: number
  /** How much the function's retained memory may grow while its one client reads nothing. */
  capBytes: number
  /** After the producer is done, how long the client gets to read everything. */
  settleMs: number
}

export interface BackpressureResult extends DeliveryCount {
  provider: string
  events: number
  publishedBytes: number
  capBytes: number
  baselineRetainedBytes: number
  peakRetainedBytes: number
  /**
   * The most the retained memory rose while the client read nothing, above the lowest
   * it was (the baseline may still hold what an earlier scenario left for the GC).
   */
  peakGrowthBytes: number
  peakRssBytes: number
  samples: number
  unfinished: boolean
}

/**
 * One client opens the subscription and then reads nothing, while a producer
 * publishes far more than the cap as fast as the broker takes it. The function's
 * memory (after GC) must stay under the cap: each stream holds at most one batch
 * and a 64 KB SSE buffer, and pulls the next batch only when the client has room.
 * Then the client reads again and must get every event, in order, once.
 */
export async function runBackpressure(options: BackpressureOptions): Promise<BackpressureResult> {
  const { feed, fn } = options
  const run = `bp${options.seed}x${Date.now().toString(36)}`
  await feed.prepare(run)
  const baseline = await fn.memory()

  let release!: () => void
  const reading = new Promise<void>((resolve) => (release = resolve))
  let stalled = true
  const received: Delivery[] = []
  const distinct = new Set<number>()
  const client = new ResumingEventSource({
    url: feedUrl(fn.baseUrl, run, { from: 'earliest' }, 'n lane pad'),
    maxRetryMs: 1000,
    beforeRead: () => (stalled ? reading : Promise.resolve()),
    onEvent(event, self) {
      if (event.type !== 'next') return
      const { n, lane } = (JSON.parse(event.data) as { data: { events: Delivery } }).data.events
      received.push({ n, lane })
      // Lanes (Kafka partitions) interleave freely: done when every event came, whatever came last.
      distinct.add(n)
      if (distinct.size === options.events) self.close()
    },
  })

  const sampler = new MemorySampler(fn)
  const pad = 'x'.repeat(options.payloadBytes)
  let publishedBytes = 0
  for (let n = 1; n <= options.events; n += 500) {
    const batch: PublishedEvent[] = []
    for (let k = n; k < Math.min(n + 500, options.events + 1); k++) batch.push({ n: k, lane: k % feed.lanes, pad })
    publishedBytes += batch.reduce((sum, e) => sum + JSON.stringify(e).length, 0)
    await feed.publish(run, batch)
  }
  // A few more samples once the producer is done: the function had every chance to buffer by now.
  await sampler.collect(3)
  const peakRetained = await sampler.stop()

  stalled = false
  release()
  const deadline = setTimeout(() => client.close(), options.settleMs)
  await client.finished()
  clearTimeout(deadline)

  const log = await feed.readLog(run)
  return {
    provider: feed.provider,
    events: options.events,
    publishedBytes,
    capBytes: options.capBytes,
    baselineRetainedBytes: baseline.retained,
    peakRetainedBytes: peakRetained,
    peakGrowthBytes: Math.max(0, peakRetained - Math.min(baseline.retained, sampler.lowest)),
    peakRssBytes: fn.peakRss(),
    samples: sampler.count,
    ...countDeliveries(log, received),
    unfinished: distinct.size !== options.events,
  }
}
