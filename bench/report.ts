/** bench/RESULTS.md from the figures of one run. */
import type { BundleFigures } from './bundle'
import type { FederationFigures } from './federation'
import type { LiveFigures } from './live'
import type { BrokerReplay } from './replay'
import type { ResumeFigures } from './resume'
import type { Machine } from './support/machine'

export interface BenchResults {
  generatedAt: string
  commit: string
  machine: Machine
  versions: Record<string, string>
  settings: {
    replay: { events: number; payloadBytes: number; rounds: number }
    resume: { depths: number[]; runs: number }
    live: { latencyAt: number[]; memoryAt: number[]; rounds: number; eventsPerRound: number; intervalMs: number }
    federation?: { events: number; rounds: number; live: { events: number; intervalMs: number } }
  }
  replay?: Record<string, BrokerReplay>
  resume?: ResumeFigures
  live?: LiveFigures
  bundle?: BundleFigures
  federation?: FederationFigures
}

export const GOALS = {
  replayRatio: 0.8,
  liveP99Ms: 50,
  bytesPerIdleStream: 64 * 1024,
  bundleGzipBytes: 250 * 1000,
}

const number = (value: number) => value.toLocaleString('en-US')
const kib = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`
const met = (ok: boolean) => (ok ? 'met' : '**not met**')

export function renderReport(results: BenchResults): string {
  const { machine, versions, settings } = results
  const lines = [
    '# Benchmark results',
    '',
    `Written by \`npm run bench\` (bench/run.ts) on ${results.generatedAt.slice(0, 10)} at commit \`${results.commit}\`; every figure below is in bench/results.json with its runs.`,
    '',
    `- Machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGiB} GiB, ${machine.os}; load average ${machine.loadAverage} when the run started.`,
    `- Versions: ${Object.entries(versions)
      .map(([name, version]) => `${name} ${version}`)
      .join(', ')}.`,
    '- Everything runs on loopback on this one machine: the broker, the function and the clients share its cores.',
    '- The Node entry (`src/runtime/node.ts`, as `npm start` runs it) runs in a child process, so the server and the',
    '  benchmark clients never share a JavaScript thread; the Workers entry runs in workerd through Miniflare (its own process).',
    '- SSE clients use a lean parser on node:http (bench/support/sse-reader.ts) and `JSON.parse` each event, as the raw',
    '  clients parse each payload.',
    '',
  ]

  if (results.replay) {
    const { events, payloadBytes, rounds } = settings.replay
    lines.push(
      '## Replay throughput',
      '',
      `One stream reads ${number(events)} events of ${payloadBytes}-byte payloads from the start of the log, beside the broker's own`,
      `client reading the same events in the same run (median of ${rounds} runs each, the order rotating). Goal: ratio ≥ ${GOALS.replayRatio}.`,
      '',
      '| broker | raw client | Node entry | ratio | workerd | ratio | goal | Node, signed ids | ratio |',
      '|---|---:|---:|---:|---:|---:|---|---:|---:|',
    )
    for (const [broker, figures] of Object.entries(results.replay)) {
      const { node, workerd, 'node-signed': signed } = figures.targets
      // A partial run (BENCH_ONLY) measures some targets only.
      if (node === undefined || workerd === undefined || signed === undefined) continue
      lines.push(
        `| ${broker} | ${number(figures.raw.median)}/s | ${number(node.median)}/s | ${node.ratio} | ${number(workerd.median)}/s | ${workerd.ratio} | ${met(Math.min(node.ratio, workerd.ratio) >= GOALS.replayRatio)} | ${number(signed.median)}/s | ${signed.ratio} |`,
      )
    }
    lines.push(
      '',
      'The cost of the work: CPU time per event replayed (user + system, medians), of the Node entry and of the',
      'benchmark process that reads (the raw client, or the SSE client of a stream through the Node entry).',
      'Reading the ratios: on a quiet machine the broker and the raw client run side by side on the two cores, so the',
      'raw rate is bounded by the raw client\'s CPU per event; a stream through the function is bounded by the',
      'function\'s one thread, which does the raw client\'s work (receive and decode each message) plus rendering each',
      'event and writing it to a socket, so the ratio tends to raw client / Node entry in this table. Under load from',
      'other processes every CPU figure adds up instead, and the ratio moves toward (broker + raw client) / (broker +',
      'Node entry + SSE client).',
      '',
      '| broker | raw client | Node entry, unsigned ids | Node entry, signed ids | SSE client |',
      '|---|---:|---:|---:|---:|',
      ...Object.entries(results.replay).map(
        ([broker, { raw, targets }]) =>
          `| ${broker} | ${raw.clientCpuMicrosPerEvent} µs | ${targets.node!.cpuMicrosPerEvent!.median} µs | ${targets['node-signed']!.cpuMicrosPerEvent!.median} µs | ${targets.node!.clientCpuMicrosPerEvent} µs |`,
      ),
    )
    lines.push(
      '',
      'Raw clients, each over the protocol its provider uses: JetStream, an ordered consumer with `consume({ max_messages: 1000 })`',
      'over WebSocket; Kafka, `fetch` of the Redpanda HTTP Proxy records endpoint (1 MiB pages, base64 values) from a real Apache',
      'Kafka broker; Redis, `@upstash/redis` paging `XREAD COUNT 1000` through the Upstash REST protocol onto a real redis-server.',
      'The HTTP translations are the test suites\' (test/support), each in a process of its own.',
      '',
    )
  }

  if (results.resume) {
    const { depths, runs } = settings.resume
    lines.push(
      '## Resume latency vs log depth',
      '',
      `From a reconnect with \`Last-Event-ID\` to its first event, with the position ${depths.map(number).join(', ')} events deep in one`,
      `JetStream log of ${number(Math.max(...depths) + 1000)} events (median of ${runs} runs, the depths taking turns). Goal: flat.`,
      '',
      `| target | ${depths.map((depth) => `${number(depth)} deep`).join(' | ')} |`,
      `|---|${depths.map(() => '---:').join('|')}|`,
    )
    for (const [target, byDepth] of Object.entries(results.resume)) {
      lines.push(`| ${target} | ${depths.map((depth) => `${byDepth[depth]!.medianMs} ms`).join(' | ')} |`)
    }
    lines.push('', 'Each resume opens a NATS connection, an ephemeral consumer at the position, and reads its first event.', '')
  }

  if (results.live) {
    const { latencyAt, rounds, eventsPerRound, intervalMs } = settings.live
    lines.push(
      '## Live latency',
      '',
      `Publish → event received by the client, on the Node entry with N concurrent streams of one JetStream subject: ${eventsPerRound}`,
      `events ${intervalMs} ms apart per round, every stream timing every event; the median of ${rounds} rounds' percentiles.`,
      `Goal: p99 < ${GOALS.liveP99Ms} ms at 1,000 streams.`,
      '',
      '| streams | p50 | p99 | lost | server CPU per delivery | client CPU per delivery |',
      '|---:|---:|---:|---:|---:|---:|',
    )
    for (const count of latencyAt) {
      const figure = results.live.latency[count]!
      lines.push(
        `| ${number(count)} | ${figure.p50Ms} ms | ${figure.p99Ms} ms | ${figure.lost} | ${figure.serverCpuMicros} µs | ${figure.clientCpuMicros} µs |`,
      )
    }
    const top = results.live.latency[Math.max(...latencyAt)]!
    lines.push(
      '',
      `Goal at ${number(Math.max(...latencyAt))} streams: ${met(top.p99Ms < GOALS.liveP99Ms)}. A delivery is one event written to one stream;`,
      'its CPU times (user + system, over the rounds) are the cost that grows with the number of streams. The streams of',
      'one subject share one broker consumer (src/providers/live-fanout.ts): the broker sends each event once and the',
      'server decodes and renders it once, but every stream has its own socket write; all on one machine shared with the',
      'broker and the clients.',
      '',
    )

    const { memory } = results.live
    lines.push(
      '## Memory per idle stream',
      '',
      `The Node entry's resident set size after a full GC, with idle streams open (each has received one event), and its`,
      `least-squares slope. Goal: < ${kib(GOALS.bytesPerIdleStream)} per stream.`,
      '',
      '| streams | RSS | JS heap in use |',
      '|---:|---:|---:|',
      ...memory.points.map(
        (point) => `| ${number(point.streams)} | ${(point.rssBytes / 2 ** 20).toFixed(1)} MiB | ${(point.heapBytes / 2 ** 20).toFixed(1)} MiB |`,
      ),
      '',
      `Slope: **${kib(memory.bytesPerStream)} per stream** (${met(memory.bytesPerStream < GOALS.bytesPerIdleStream)}), of which JS heap ${kib(memory.heapBytesPerStream)}.`,
      '',
    )
  }

  if (results.federation) {
    const f = results.federation
    lines.push(
      '## Federated graph: entities from a subgraph',
      '',
      `The test graph (the Cosmo demo's employeeupdated subgraph composed by wgc, EXECUTION_CONFIG_FILE_PATH) through the`,
      `Node entry: one stream replays ${number(f.events)} JetStream events (${f.distinctEmployees} distinct employees) selecting what the event`,
      'carries (`{ id }`), and selecting a field of the employees subgraph (`{ id details { forename } }`), in the same run',
      `(median of ${f.rounds} rounds each, alternating).`,
      '',
      '| selection | events/s | subgraph requests per replay |',
      '|---|---:|---:|',
      `| \`{ id }\` | ${number(f.plain.median)} | 0 |`,
      `| \`{ id details { forename } }\` | ${number(f.enriched.median)} | ${f.enriched.employeesRequests.join(', ')} |`,
      '',
      `Enriched / plain: **${f.ratio}**. Live, one event every ${f.live.intervalMs} ms (${f.live.events} events), publish to client: plain p50`,
      `${f.live.plainP50Ms} ms / p99 ${f.live.plainP99Ms} ms, enriched p50 ${f.live.enrichedP50Ms} ms / p99 ${f.live.enrichedP99Ms} ms (${f.live.enrichedRequests} employees requests).`,
      '',
    )
  }

  if (results.bundle) {
    const { bytes, gzipBytes } = results.bundle
    lines.push(
      '## Workers bundle',
      '',
      `\`wrangler deploy --dry-run\`: ${kib(bytes)}, **${kib(gzipBytes)} gzip** (${number(gzipBytes)} bytes; goal < ${number(GOALS.bundleGzipBytes)} bytes: ${met(gzipBytes < GOALS.bundleGzipBytes)}).`,
      '',
    )
  }
  return `${lines.join('\n')}\n`
}
