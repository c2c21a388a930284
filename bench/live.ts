/**
 * Live latency and idle memory on the Node entry: N concurrent streams of new
 * events; the benchmark publishes an event and times its arrival on every stream
 * (publish → chunk received by the client), and samples the server's resident set
 * size as idle streams are added.
 */
import { jetstreamManager } from '@nats-io/jetstream'
import { replayQuery, payload } from './brokers/broker'
import { jetStreamSchema, startJetStream } from './brokers/jetstream'
import { startNodeServer } from './support/node-server'
import { readSse, type SseReader } from './support/sse-reader'
import { median, percentile, round, slope } from './support/stats'

export interface LiveOptions {
  /** Stream counts at which latency is measured. */
  latencyAt: number[]
  /** Stream counts at which the idle server's RSS is sampled (the slope's points). */
  memoryAt: number[]
  rounds: number
  eventsPerRound: number
  /** Between two published events, so each is measured on a settled server. */
  intervalMs: number
}

export interface LatencyFigure {
  p50Ms: number
  p99Ms: number
  /** The per-round figures that p50Ms and p99Ms are the medians of. */
  rounds: { p50Ms: number; p99Ms: number; maxMs: number }[]
  /** Receipts that never came (events × streams); none is expected. */
  lost: number
  /** CPU time (user + system) per event delivered to one stream, in microseconds: the server's, and the clients'. */
  serverCpuMicros: number
  clientCpuMicros: number
}

export interface LiveFigures {
  latency: Record<string, LatencyFigure>
  /**
   * Slopes over the points: RSS (the goal's figure), within it the JS heap in use, and RSS
   * outside V8's young generation. The young generation grows with the allocation rate, up to a
   * fixed maximum (32 MiB on 64-bit Node 20), as the streams are opened: the RSS slope counts that
   * growth, which no idle stream holds; the last slope leaves it out.
   */
  memory: {
    bytesPerStream: number
    heapBytesPerStream: number
    bytesPerStreamOutsideYoung?: number
    points: { streams: number; rssBytes: number; heapBytes: number; youngBytes?: number }[]
  }
  /** How long opening the streams up to each count took, until each had received an event. */
  openMs: Record<string, number>
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
const OPEN_CONCURRENCY = 50

export async function benchLive(options: LiveOptions): Promise<LiveFigures> {
  const nats = await startJetStream()
  const subject = 'bench.live'
  await (await jetstreamManager(nats.nc)).streams.add({ name: 'LIVE', subjects: [subject] })
  const server = await startNodeServer({ SCHEMA: jetStreamSchema(subject), NATS_DEFAULT_URL: nats.wsUrl })
  const url = `${server.baseUrl}/graphql/stream?${new URLSearchParams({ query: replayQuery })}`

  const readers: SseReader[] = []
  const publishedAt = new Map<number, number>()
  const receipts = new Map<number, number>()
  let samples: number[] = []
  let lastEvent = 0
  const onReceive = (n: number, receivedAt: number) => {
    receipts.set(n, (receipts.get(n) ?? 0) + 1)
    samples.push(receivedAt - publishedAt.get(n)!)
  }
  const publish = () => {
    const n = ++lastEvent
    publishedAt.set(n, performance.now())
    nats.nc.publish(subject, payload(n))
    return n
  }
  /** Waits until every open stream received event `n`, or `timeoutMs` passed. */
  const allReceived = async (n: number, timeoutMs: number) => {
    const deadline = performance.now() + timeoutMs
    while ((receipts.get(n) ?? 0) < readers.length && performance.now() < deadline) await sleep(5)
    return (receipts.get(n) ?? 0) >= readers.length
  }
  /** New streams start at the live end once their consumer exists: publish until all have one event. */
  const settle = async () => {
    for (let attempt = 0; attempt < 200; attempt++) if (await allReceived(publish(), 250)) return
    throw new Error(`not all of ${readers.length} streams received events`)
  }

  const figures: LiveFigures = { latency: {}, memory: { bytesPerStream: 0, heapBytesPerStream: 0, points: [] }, openMs: {} }
  try {
    const counts = [...new Set([...options.latencyAt, ...options.memoryAt])].sort((a, b) => a - b)
    const lastMemoryCount = Math.max(...options.memoryAt)
    for (const count of counts) {
      const started = performance.now()
      while (readers.length < count) {
        const batch = Math.min(OPEN_CONCURRENCY, count - readers.length)
        readers.push(
          ...(await Promise.all(
            Array.from({ length: batch }, () =>
              readSse(url, { onEvent: (event, at) => event.event === 'next' && onReceive(JSON.parse(event.data).data.events.n, at) }),
            ),
          )),
        )
      }
      await settle()
      figures.openMs[count] = round(performance.now() - started)
      // No latency rounds between two memory samples: their traffic grows the heap's young
      // generation, which the slope would count as the streams' own memory.
      if (options.latencyAt.includes(count) && count !== lastMemoryCount) figures.latency[count] = await measureLatency()
      if (options.memoryAt.includes(count)) {
        await sleep(500)
        const { rss, heapUsed, youngBytes } = await server.memory()
        figures.memory.points.push({ streams: count, rssBytes: rss, heapBytes: heapUsed, youngBytes })
      }
      if (options.latencyAt.includes(count) && count === lastMemoryCount) figures.latency[count] = await measureLatency()
    }
  } finally {
    for (const reader of readers) reader.close()
    await server.close()
    await nats.stop()
  }
  const { points } = figures.memory
  if (points.length > 1) {
    figures.memory.bytesPerStream = round(slope(points.map((point) => ({ x: point.streams, y: point.rssBytes }))))
    figures.memory.heapBytesPerStream = round(slope(points.map((point) => ({ x: point.streams, y: point.heapBytes }))))
    figures.memory.bytesPerStreamOutsideYoung = round(slope(points.map((point) => ({ x: point.streams, y: point.rssBytes - (point.youngBytes ?? 0) }))))
  }
  return figures

  async function measureLatency(): Promise<LatencyFigure> {
    const rounds: LatencyFigure['rounds'] = []
    let lost = 0
    const serverCpuBefore = await server.cpuMicros()
    const clientCpuBefore = process.cpuUsage()
    for (let r = 0; r < options.rounds; r++) {
      samples = []
      const events: number[] = []
      for (let i = 0; i < options.eventsPerRound; i++) {
        events.push(publish())
        await sleep(options.intervalMs)
      }
      await allReceived(events.at(-1)!, 5000)
      lost += events.reduce((sum, n) => sum + readers.length - (receipts.get(n) ?? 0), 0)
      rounds.push({ p50Ms: round(percentile(samples, 50), 2), p99Ms: round(percentile(samples, 99), 2), maxMs: round(Math.max(...samples), 2) })
    }
    const deliveries = options.rounds * options.eventsPerRound * readers.length
    const clientCpu = process.cpuUsage(clientCpuBefore)
    return {
      p50Ms: round(median(rounds.map((x) => x.p50Ms)), 2),
      p99Ms: round(median(rounds.map((x) => x.p99Ms)), 2),
      rounds,
      lost,
      serverCpuMicros: round(((await server.cpuMicros()) - serverCpuBefore) / deliveries, 1),
      clientCpuMicros: round((clientCpu.user + clientCpu.system) / deliveries, 1),
    }
  }
}
