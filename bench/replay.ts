/**
 * Replay throughput: one SSE stream reading `total` events from the start of the log,
 * beside the broker's own client reading the same events in the same run.
 */
import { startTarget } from '../test/support/targets'
import { replayQuery, type ReplayBroker } from './brokers/broker'
import { startNodeServer } from './support/node-server'
import { readSse } from './support/sse-reader'
import { median, round } from './support/stats'

export interface RateSeries {
  /** Events per second: the median of `runs`. */
  median: number
  runs: number[]
}

export interface BrokerReplay {
  raw: RateSeries
  /** Per target; `ratio` is its median over the raw client's median. */
  targets: Record<string, RateSeries & { ratio: number }>
}

/** Reads `total` events through the function's SSE endpoint, parsing each event's data. */
export async function readThroughSse(baseUrl: string, total: number): Promise<void> {
  const url = `${baseUrl}/graphql/stream?${new URLSearchParams({ query: replayQuery, from: 'earliest' })}`
  let read = 0
  let finish!: () => void
  const finished = new Promise<void>((resolve) => (finish = resolve))
  const reader = await readSse(url, {
    onEvent(event) {
      if (event.event !== 'next') throw new Error(`unexpected ${event.event} event: ${event.data}`)
      JSON.parse(event.data)
      if (++read === total) finish()
    },
  })
  await Promise.race([finished, reader.ended.then(() => Promise.reject(new Error(`the stream ended after ${read} of ${total} events`)))])
  reader.close()
}

async function rate(total: number, read: () => Promise<void>): Promise<number> {
  const started = performance.now()
  await read()
  return total / ((performance.now() - started) / 1000)
}

export async function benchReplay(startBroker: (total: number) => Promise<ReplayBroker>, total: number, rounds: number): Promise<BrokerReplay> {
  const broker = await startBroker(total)
  const targets = [await startNodeServer(broker.env), await startTarget('workerd', broker.env)]
  const names = ['node', 'workerd']
  try {
    const readers = [() => broker.readRaw(total), ...targets.map((target) => () => readThroughSse(target.baseUrl, total))]
    // One untimed pass of each, so every side runs compiled code when timed.
    for (const read of readers) await read()
    const runs: number[][] = readers.map(() => [])
    for (let r = 0; r < rounds; r++) {
      // The order rotates each round, so a slow spell of the machine does not always hit the same side.
      for (let i = 0; i < readers.length; i++) {
        const which = (i + r) % readers.length
        runs[which]!.push(round(await rate(total, readers[which]!)))
      }
    }
    const series = runs.map((values) => ({ median: round(median(values)), runs: values }))
    const raw = series[0]!
    return {
      raw,
      targets: Object.fromEntries(names.map((name, i) => [name, { ...series[i + 1]!, ratio: round(series[i + 1]!.median / raw.median, 2) }])),
    }
  } finally {
    await Promise.all(targets.map((target) => target.close()))
    await broker.stop()
  }
}
