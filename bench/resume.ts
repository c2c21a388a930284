/**
 * Resume latency vs log depth: the time from a reconnect with `Last-Event-ID` to its
 * first event, with the position 10^3, 10^5 and 10^6 events deep in one log. Flat
 * figures mean the provider seeks to the position instead of scanning to it.
 */
import { startTarget } from '../test/support/targets'
import { replayQuery } from './brokers/broker'
import { jetStreamSchema, seedStream, startJetStream } from './brokers/jetstream'
import { startNodeServer } from './support/node-server'
import { readSse } from './support/sse-reader'
import { median, round } from './support/stats'

export interface ResumeFigures {
  /** Per target, per depth: milliseconds from the request to the first event. */
  [target: string]: Record<string, { medianMs: number; runsMs: number[] }>
}

/** `1.<binding>.<position>` (docs/protocol.md): the cursor of `position` in the same subscription. */
const withPosition = (cursor: string, position: number) => cursor.split('.').slice(0, 2).concat(String(position)).join('.')

/** Opens the stream and resolves with the first `next` event's id and how long it took. */
async function firstEvent(url: string, headers: Record<string, string> = {}): Promise<{ id: string; ms: number }> {
  const started = performance.now()
  let resolveFirst!: (value: { id: string; ms: number }) => void
  const first = new Promise<{ id: string; ms: number }>((resolve) => (resolveFirst = resolve))
  const reader = await readSse(url, {
    headers,
    onEvent(event, receivedAt) {
      if (event.event === 'next') resolveFirst({ id: event.id!, ms: receivedAt - started })
    },
  })
  try {
    return await Promise.race([first, reader.ended.then(() => Promise.reject(new Error('the stream ended before its first event')))])
  } finally {
    reader.close()
  }
}

export async function benchResume(depths: number[], runs: number): Promise<ResumeFigures> {
  const nats = await startJetStream()
  const subject = 'bench.deep'
  await seedStream(nats.nc, 'DEEP', subject, Math.max(...depths) + 1000)
  const env = { SCHEMA: jetStreamSchema(subject), NATS_DEFAULT_URL: nats.wsUrl }
  const targets = { node: await startNodeServer(env), workerd: await startTarget('workerd', env) }
  const figures: ResumeFigures = {}
  try {
    for (const [name, target] of Object.entries(targets)) {
      const url = `${target.baseUrl}/graphql/stream?${new URLSearchParams({ query: replayQuery })}`
      const { id: firstId } = await firstEvent(`${url}&from=earliest`)
      const resume = async (depth: number) => {
        const { id, ms } = await firstEvent(url, { 'Last-Event-ID': withPosition(firstId, depth) })
        if (id !== withPosition(firstId, depth + 1)) throw new Error(`resumed after ${depth} at ${id}`)
        return ms
      }
      for (const depth of depths) await resume(depth) // untimed: code and caches warm
      const times = new Map(depths.map((depth) => [depth, [] as number[]]))
      // Depths take turns, so a slow spell of the machine spreads over all of them.
      for (let r = 0; r < runs; r++) for (const depth of depths) times.get(depth)!.push(round(await resume(depth), 2))
      figures[name] = Object.fromEntries(depths.map((depth) => [String(depth), { medianMs: round(median(times.get(depth)!), 2), runsMs: times.get(depth)! }]))
    }
  } finally {
    await Promise.all(Object.values(targets).map((target) => target.close()))
    await nats.stop()
  }
  return figures
}
