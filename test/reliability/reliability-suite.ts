import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Env } from '../../src/config/env'
import { runBackpressure } from '../support/faults/backpressure-run'
import { runDelivery, type DeliveryRunOptions } from '../support/faults/delivery-run'
import type { FaultKind, Feed } from '../support/faults/feed'
import { backToBaseline, runLoad } from '../support/faults/load-run'
import { startNodeProcess, type NodeProcess } from '../support/faults/node-process'
import { recordResult } from '../support/faults/results'
import { LONG, scaled, SEED } from '../support/faults/scale'

const HEARTBEAT_SECONDS = 1
/**
 * The function signs its cursors, as a deployment open to the internet does: every resume under
 * faults passes a signature check, and one from inside a replay batch its signed range too.
 */
const CURSOR_KEYS = 'reliability:reliability-cursor-key-0123456789'
/** The stated bound: a client that reads nothing costs the function at most this much memory (1 KB events). */
export const BACKPRESSURE_CAP_BYTES = 16 * 1024 * 1024

type Scenario = 'delivery' | 'backpressure' | 'load'

export interface SuiteOptions {
  /** The scenarios that apply to the feed (all by default). */
  scenarios?: Scenario[]
  /** What differs from the common delivery scenario (a cluster's faults take seconds each). */
  delivery?: Partial<Omit<DeliveryRunOptions, 'feed' | 'baseUrl' | 'seed'>>
  deliveryTimeoutMs?: number
  /** Fault kinds that must strike at least once while a client replays and once while one reads live. */
  strikeReplayAndLive?: FaultKind[]
}

/**
 * The reliability scenarios of one broker feed, on the Node entry run as its own
 * process in front of the feed's broker, through the fault proxy:
 *
 * - delivery: N events published at a steady pace while faults strike at seeded
 *   moments, and EventSource-like clients (some cutting their connection again and
 *   again, some slow) read them all from the earliest event. Expected for every
 *   client: nothing lost, duplicated or reordered, no gap.
 * - backpressure: a client that reads nothing while a producer publishes far more
 *   than the cap; the function's memory stays under the cap, then the client gets all.
 * - load: many streams held with heartbeats and events, then all closed: the broker
 *   side holds nothing afterwards and the memory is back to its baseline.
 *
 * The embedded memory broker lives inside the function: its feed runs the function
 * itself (`baseUrl`), and only the delivery scenario applies (its faults are the
 * clients' own; its memory grows with its log by design).
 */
export function describeReliability(
  name: string,
  seedOffset: number,
  startFeed: () => Promise<Feed & { baseUrl?: string }>,
  functionEnv: Env = {},
  /** Streams of the long load scenario (1,000 unless the feed's test servers saturate first). */
  longLoadStreams = 1000,
  suite: SuiteOptions = {},
) {
  const scenarios = new Set(suite.scenarios ?? ['delivery', 'backpressure', 'load'])
  const scenario = (name: Scenario) => (scenarios.has(name) ? it : it.skip)
  describe(`${name} reliability`, () => {
    let feed: Feed & { baseUrl?: string }
    let fn: NodeProcess | undefined
    const seed = SEED + seedOffset

    beforeAll(async () => {
      feed = await startFeed()
      // The heartbeat also bounds how long a silent NATS connection goes unnoticed.
      if (feed.baseUrl === undefined) {
        fn = await startNodeProcess({ ...feed.env, RETRY_MS: '200', HEARTBEAT_SECONDS: String(HEARTBEAT_SECONDS), CURSOR_KEYS, ...functionEnv })
      }
    }, 180_000)
    afterAll(async () => {
      await fn?.stop()
      await feed?.close()
    })

    scenario('delivery')('delivers every event to every client, in order, once, under faults', { timeout: suite.deliveryTimeoutMs ?? scaled(120_000, 1_800_000) }, async () => {
      const options: Omit<DeliveryRunOptions, 'feed' | 'baseUrl'> = {
        seed,
        events: scaled(2000, 20_000),
        eventsPerSecond: scaled(800, 200),
        clients: scaled(4, 8),
        slowClients: scaled(1, 2),
        slowBytesPerSecond: scaled(50_000, 20_000),
        // Short: each kind of fault once (a Kafka restart alone takes 5 to 15 s here).
        faults: scaled(feed.faults.length, 60),
        eventsBetweenCuts: scaled(400, 1500),
        maxRetryMs: 1000,
        settleMs: scaled(45_000, 120_000),
        ...suite.delivery,
      }
      const result = await runDelivery({ ...options, feed, baseUrl: feed.baseUrl ?? fn!.baseUrl })
      recordResult(`delivery-${feed.provider}`, expect.getState(), {
        title: name,
        ...result,
        options,
        ...(fn ? { peakRssBytes: fn.peakRss(), functionLog: Object.fromEntries(fn.logCounts()) } : {}),
      })
      expect(result.logEntries, 'the producer wrote every event once').toBe(result.published)
      // The long run's many faults must strike both phases; the short one's few fall where they fall.
      for (const kind of LONG ? (suite.strikeReplayAndLive ?? []) : []) {
        const strikes = result.faults.filter((fault) => fault.kind === kind)
        expect(strikes.some((fault) => fault.replayingClients > 0), `a ${kind} struck while a client replayed`).toBe(true)
        expect(strikes.some((fault) => fault.liveClients > 0), `a ${kind} struck while a client read live`).toBe(true)
      }
      result.clients.forEach((client, i) => {
        expect(client, `client ${i} (seed ${seed})`).toMatchObject({ lost: 0, duplicated: 0, reordered: 0, gaps: 0, unfinished: false })
      })
    })

    scenario('backpressure')('holds a client that reads nothing under the memory cap, then delivers everything', { timeout: scaled(120_000, 900_000) }, async (context) => {
      if (!fn) return context.skip()
      const result = await runBackpressure({
        feed,
        fn,
        seed,
        // 1 KB events: JetStream and Redis bound a stream's batch by count (1,000), so the cap holds for a size.
        events: scaled(20_000, 200_000),
        payloadBytes: 1024,
        capBytes: BACKPRESSURE_CAP_BYTES,
        settleMs: scaled(60_000, 300_000),
      })
      recordResult(`backpressure-${feed.provider}`, expect.getState(), { title: name, ...result })
      expect(result.publishedBytes).toBeGreaterThan(result.capBytes)
      expect(result.peakGrowthBytes).toBeLessThan(result.capBytes)
      expect(result).toMatchObject({ lost: 0, duplicated: 0, reordered: 0, unfinished: false })
    })

    scenario('load')('holds many streams with heartbeats, then releases every broker resource and the memory', { timeout: scaled(120_000, 900_000) }, async (context) => {
      if (!fn) return context.skip()
      // A function of its own, with the broker timeouts at their defaults, as deployed.
      const heartbeatMs = scaled(500, 5000)
      const loaded = await startNodeProcess({ ...feed.env, HEARTBEAT_SECONDS: String(heartbeatMs / 1000) })
      const result = await runLoad({
        feed,
        fn: loaded,
        seed,
        streams: scaled(50, longLoadStreams),
        holdMs: scaled(2000, 60_000),
        heartbeatMs,
        eventsDuringHold: scaled(3, 12),
      }).finally(() => loaded.stop())
      recordResult(`load-${feed.provider}`, expect.getState(), { title: name, ...result })
      expect(result.minPings).toBeGreaterThanOrEqual(Math.floor(result.holdMs / heartbeatMs) - 1)
      expect(result).toMatchObject({ opened: result.streams, reconnectedStreams: 0, lost: 0, duplicated: 0, reordered: 0 })
      expect(Object.values(result.heldAfter).every((count) => count === 0), JSON.stringify(result.heldAfter)).toBe(true)
      expect(result.afterRetainedBytes).toBeLessThanOrEqual(backToBaseline(result.baselineRetainedBytes))
    })
  })
}
