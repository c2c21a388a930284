/**
 * A burst of five times MAX_STREAMS subscriptions at once on the Node entry (its own process)
 * in front of nats-server 2.12: no crash, memory bounded by the streams it holds, every
 * accepted stream exact, and every refused client served after its Retry-After.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runBurst } from '../support/faults/burst-run'
import type { Feed } from '../support/faults/feed'
import { startJetStreamFeed } from '../support/faults/jetstream-feed'
import { startNodeProcess, type NodeProcess } from '../support/faults/node-process'
import { recordResult } from '../support/faults/results'
import { FAULT_DURATIONS, scaled, SEED } from '../support/faults/scale'

const MAX_STREAMS = scaled(20, 200)
/**
 * The most a stream may add to the function's retained memory while it replays: its 64 KB SSE
 * buffer and one JetStream pull (at most 1 MiB) ahead of it, with room for a second pull: the
 * memory follows the streams held, whatever the number of clients asking.
 */
const PER_STREAM_BOUND_BYTES = 2.5 * 1024 * 1024

describe('overload: a burst of 5 × MAX_STREAMS', () => {
  let feed: Feed
  let fn: NodeProcess

  beforeAll(async () => {
    feed = await startJetStreamFeed(FAULT_DURATIONS)
    // RETRY_MS 200: refused clients are told to come back after 1 s.
    fn = await startNodeProcess({ ...feed.env, MAX_STREAMS: String(MAX_STREAMS), RETRY_MS: '200' })
  }, 180_000)
  afterAll(async () => {
    await fn?.stop()
    await feed?.close()
  })

  it('refuses beyond MAX_STREAMS with Retry-After, serves every client in the end, exactly', { timeout: scaled(180_000, 1_200_000) }, async () => {
    const result = await runBurst({
      feed,
      fn,
      seed: SEED + 11,
      maxStreams: MAX_STREAMS,
      clients: 5 * MAX_STREAMS,
      events: scaled(500, 10_000),
      maxRetryMs: 5000,
      settleMs: scaled(150_000, 1_000_000),
    })
    recordResult(`overload-${feed.provider}`, expect.getState(), { title: 'NATS JetStream', ...result })
    // The first round is the burst: exactly MAX_STREAMS streams, the others refused.
    expect(result).toMatchObject({ acceptedFirst: MAX_STREAMS, refusedFirst: 4 * MAX_STREAMS })
    // By the function's own log: a client reading behind sees its stream end after the function freed the slot.
    expect(result.mostOpenInFunction).toBeLessThanOrEqual(MAX_STREAMS)
    expect(result).toMatchObject({ finished: result.clients, failures: [], lost: 0, duplicated: 0, reordered: 0 })
    // Every refusal came from the limit, and none reached the broker: the function opened a stream per 200 only.
    expect({ opens: result.loggedOpens, overloaded: result.loggedOverloaded }).toEqual({ opens: result.opens, overloaded: result.overloaded })
    expect(result.problems).toEqual([])
    expect(result.peakRetainedBytes - result.baselineRetainedBytes).toBeLessThan(MAX_STREAMS * PER_STREAM_BOUND_BYTES)
    expect(Object.values(result.heldAfter).every((count) => count === 0), JSON.stringify(result.heldAfter)).toBe(true)
  })
})
