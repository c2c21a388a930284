/** bench/RESULTS.md from the figures of one run. */
import type { BundleFigures } from './bundle'
import type { EdgeFanoutFigures } from './edge-fanout'
import type { FederationFigures } from './federation'
import type { LiveFigures } from './live'
import type { BrokerReplay } from './replay'
import type { RouterBenchOptions, RouterComparison } from './router'
import type { ResumeFigures } from './resume'
import type { Machine } from './support/machine'
import { median, round } from './support/stats'

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
    router?: RouterBenchOptions
    edge?: { streamsAt: number[]; rounds: number; eventsPerRound: number; intervalMs: number }
  }
  replay?: Record<string, BrokerReplay>
  resume?: ResumeFigures
  live?: LiveFigures
  bundle?: BundleFigures
  federation?: FederationFigures
  router?: RouterComparison
  /** Sections measured later by `BENCH_ONLY=… BENCH_MERGE=1`, replacing this run's. */
  mergedRuns?: { sections: string; generatedAt: string; commit: string; loadAverage: number }[]
  edge?: EdgeFanoutFigures
}

export const GOALS = {
  /** Replay rate over the raw client's, on Node and in workerd, by broker. */
  replayRatio: { jetstream: 0.95, kafka: 0.9, redis: 0.9 } as Record<string, number>,
  /** Signed replay rate over unsigned, on Node. */
  signedOverUnsigned: 0.9,
  /** p99 in ms by stream count. */
  liveP99Ms: { 1000: 50, 5000: 150 } as Record<number, number>,
  bytesPerIdleStream: 32 * 1024,
  /** Server CPU per live delivery at 1,000 streams, over the Cosmo router's in the same run. */
  cpuPerDeliveryVsRouter: 0.4,
  bundleGzipBytes: 250 * 1000,
}

const number = (value: number) => value.toLocaleString('en-US')
const kib = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`
const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`
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
    ...(results.mergedRuns ?? []).map(
      (run) =>
        `- Measured in a later run (\`BENCH_ONLY\`, ${run.generatedAt.slice(0, 16).replace('T', ' ')} UTC, commit \`${run.commit}\`, load average ${run.loadAverage}): ${run.sections}.`,
    ),
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
      `client reading the same events in the same run (median of ${rounds} runs each, the order rotating). Goals: ratio ≥ ${GOALS.replayRatio.jetstream} for`,
      `JetStream and ≥ ${GOALS.replayRatio.kafka} for Kafka and Redis, on Node and in workerd; signed ids ≥ ${GOALS.signedOverUnsigned} of unsigned, on Node.`,
      '',
      '| broker | raw client | Node entry | ratio | workerd | ratio | goal | Node, signed ids | ratio | signed / unsigned | goal |',
      '|---|---:|---:|---:|---:|---:|---|---:|---:|---:|---|',
    )
    for (const [broker, figures] of Object.entries(results.replay)) {
      const { node, workerd, 'node-signed': signed } = figures.targets
      // A partial run (BENCH_ONLY) measures some targets only.
      if (node === undefined || workerd === undefined || signed === undefined) continue
      const signedOverUnsigned = Math.round((signed.median / node.median) * 100) / 100
      const goal = GOALS.replayRatio[broker] ?? GOALS.replayRatio.kafka!
      lines.push(
        `| ${broker} | ${number(figures.raw.median)}/s | ${number(node.median)}/s | ${node.ratio} | ${number(workerd.median)}/s | ${workerd.ratio} | ≥ ${goal}: ${met(Math.min(node.ratio, workerd.ratio) >= goal)} | ${number(signed.median)}/s | ${signed.ratio} | ${signedOverUnsigned} | ${met(signedOverUnsigned >= GOALS.signedOverUnsigned)} |`,
      )
    }
    lines.push(
      '',
      'The cost of the work: CPU time per event replayed (user + system, medians), of the Node entry, of the',
      'benchmark process that reads (the raw client, or the SSE client of a stream through the Node entry), and of the',
      'whole machine (broker, HTTP proxy, server, client and kernel, from /proc/stat), with the cores it kept busy on',
      'average. On two cores everything that reads the log shares them, so a rate is about busy cores / machine CPU',
      'per event. A stream through the function has one reader more than the raw client has: the SSE client, doing',
      'what a browser elsewhere does. "Bound" is the ratio a Node entry that cost exactly the raw client\'s CPU per',
      'event would reach at the raw side\'s use of the cores: machine raw / (machine raw + SSE client).',
      '',
      '| broker | raw client | Node entry, unsigned ids | Node entry, signed ids | SSE client | whole machine, raw / Node | busy cores, raw / Node | bound |',
      '|---|---:|---:|---:|---:|---:|---:|---:|',
      ...Object.entries(results.replay).map(([broker, { raw, targets }]) => {
        const node = targets.node!
        const bound = round(raw.machine.cpuMicrosPerEvent / (raw.machine.cpuMicrosPerEvent + node.clientCpuMicrosPerEvent), 2)
        return `| ${broker} | ${raw.clientCpuMicrosPerEvent} µs | ${node.cpuMicrosPerEvent!.median} µs | ${targets['node-signed']!.cpuMicrosPerEvent!.median} µs | ${node.clientCpuMicrosPerEvent} µs | ${raw.machine.cpuMicrosPerEvent} / ${node.machine.cpuMicrosPerEvent} µs | ${raw.machine.busyCores} / ${node.machine.busyCores} | ${bound} |`
      }),
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
      `Goals: ${Object.entries(GOALS.liveP99Ms)
        .map(([count, ms]) => `p99 < ${ms} ms at ${number(Number(count))} streams`)
        .join(', ')}.`,
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
    const goals = Object.entries(GOALS.liveP99Ms).filter(([count]) => results.live!.latency[count])
    lines.push(
      '',
      `${goals.map(([count, ms]) => `At ${number(Number(count))} streams: ${met(results.live!.latency[count]!.p99Ms < ms)}`).join('; ')}. A delivery is one event written to one stream;`,
      'its CPU times (user + system, over the rounds) are the cost that grows with the number of streams. The streams of',
      'one subject share one broker consumer (src/providers/shared/live-fanout.ts): the broker sends each event once and the',
      'server decodes, renders and encodes it once, but every stream has its own socket write (src/sse/node-response.ts);',
      'all on one machine shared with the broker and the clients.',
      '',
    )

    const { memory } = results.live
    lines.push(
      '## Memory per idle stream',
      '',
      `The Node entry's resident set size after a full GC, with idle streams open (each has received one event), and its`,
      `least-squares slope. Goal: < ${kib(GOALS.bytesPerIdleStream)} per stream.`,
      '',
      '| streams | RSS | JS heap in use | young generation |',
      '|---:|---:|---:|---:|',
      ...memory.points.map(
        (point) =>
          `| ${number(point.streams)} | ${mib(point.rssBytes)} | ${mib(point.heapBytes)} | ${point.youngBytes === undefined ? 'not measured' : mib(point.youngBytes)} |`,
      ),
      '',
      `Slope: **${kib(memory.bytesPerStream)} per stream** (${met(memory.bytesPerStream < GOALS.bytesPerIdleStream)}), of which JS heap ${kib(memory.heapBytesPerStream)}.`,
      ...(memory.bytesPerStreamOutsideYoung === undefined
        ? []
        : [
            '',
            `Outside V8's young generation: **${kib(memory.bytesPerStreamOutsideYoung)} per stream** (${met(memory.bytesPerStreamOutsideYoung < GOALS.bytesPerIdleStream)}).`,
            'The young generation (resident new space) grows with the allocation rate while the streams open, up to a fixed',
            'maximum (32 MiB on 64-bit Node 20) that any busy process reaches: the RSS slope counts its growth between the',
            'points, which no idle stream holds.',
          ]),
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
      '| selection | events | events/s | Node entry CPU per event | subgraph requests per replay |',
      '|---|---|---:|---:|---:|',
      `| \`{ id }\` | keys only | ${number(f.plain.median)} | ${f.plain.serverCpuMicrosPerEvent} µs | 0 |`,
      `| \`{ id details { forename } }\` | keys only | ${number(f.enriched.median)} | ${f.enriched.serverCpuMicrosPerEvent} µs | ${f.enriched.employeesRequests.join(', ')} |`,
      `| \`{ id details { forename } }\` | each its own payload | ${number(f.enrichedDistinct.median)} | ${f.enrichedDistinct.serverCpuMicrosPerEvent} µs | ${f.enrichedDistinct.employeesRequests.join(', ')} |`,
      '',
      ...entityCost(f),
      '',
      `Enriched / plain: **${f.ratio}**. Live, one event every ${f.live.intervalMs} ms (${f.live.events} events), publish to client: plain p50`,
      `${f.live.plainP50Ms} ms / p99 ${f.live.plainP99Ms} ms, enriched p50 ${f.live.enrichedP50Ms} ms / p99 ${f.live.enrichedP99Ms} ms (${f.live.enrichedRequests} employees requests).`,
      '',
    )
  }

  if (results.router) lines.push(...routerSection(results.router, settings.router!))
  if (results.edge) {
    const e = results.edge
    const liveAtMost = Object.entries(e.live).sort(([a], [b]) => Number(b) - Number(a))[0]
    lines.push(
      '## Workers: one broker reader per route (Durable Object)',
      '',
      'Live streams of one JetStream subject on the Workers entry in workerd (Miniflare), with the RouteReader object bound',
      '(as the shipped wrangler.toml binds it) and without it: what the broker holds for the route once every stream has an event.',
      '',
      '| streams | consumers with / without | NATS connections with / without |',
      '|---:|---:|---:|',
      ...Object.entries(e.load).map(
        ([streams, load]) =>
          `| ${number(Number(streams))} | ${load.withObject.consumers} / ${load.withoutObject.consumers} | ${load.withObject.connections} / ${load.withoutObject.connections} |`,
      ),
      '',
      `Live with the object (publish to every client; ${settings.edge?.rounds ?? 0} rounds of ${settings.edge?.eventsPerRound ?? 0} events ${settings.edge?.intervalMs ?? 0} ms apart, medians of the`,
      "rounds' percentiles); CPU time per event delivered to one stream, workerd's (the Worker and the object) and the clients'.",
      '',
      '| streams | p50 | p99 | max | CPU per delivery workerd / clients | lost |',
      '|---:|---:|---:|---:|---:|---:|',
      ...Object.entries(e.live).map(
        ([streams, live]) =>
          `| ${number(Number(streams))} | ${live.p50Ms} ms | ${live.p99Ms} ms | ${live.maxMs} ms | ${live.serverCpuMicros} / ${live.clientCpuMicros} µs | ${live.lost} |`,
      ),
      '',
      ...(liveAtMost ? [`p99 at ${number(Number(liveAtMost[0]))} streams: ${liveAtMost[1].p99Ms} ms (goal < 100 ms: ${met(liveAtMost[1].p99Ms < 100)}).`, ''] : []),
    )
    if (e.polled) {
      const { kafka, redis } = e.polled
      lines.push(
        'Live streams of one Kafka topic (Upstash REST protocol, one partition) and of one Redis stream key, the same way: the',
        "route's read requests on the HTTP server per published event, once every stream has an event (10 events, 100 ms apart).",
        '',
        '| streams | Kafka fetches per event with / without | Redis XREADs per event with / without |',
        '|---:|---:|---:|',
        ...Object.keys(kafka).map((streams) => `| ${number(Number(streams))} | ${kafka[streams]!.withObject} / ${kafka[streams]!.withoutObject} | ${redis[streams]?.withObject} / ${redis[streams]?.withoutObject} |`),
        '',
      )
    }
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

/**
 * What entity resolution adds, from the rows above: Node entry CPU per event over the plain
 * selection's, and per subgraph request (one per provider batch of events).
 */
function entityCost(f: FederationFigures): string[] {
  const perRequest = (row: FederationFigures['enriched']) => {
    const requests = median(row.employeesRequests)
    return { eventsPerRequest: Math.round(f.events / requests), ms: round(((row.serverCpuMicrosPerEvent - f.plain.serverCpuMicrosPerEvent) * f.events) / requests / 1000, 1) }
  }
  const [keysOnly, distinct] = [perRequest(f.enriched), perRequest(f.enrichedDistinct)]
  return [
    `Entity resolution adds ${round(f.enriched.serverCpuMicrosPerEvent - f.plain.serverCpuMicrosPerEvent, 1)} µs of Node entry CPU per event when the events`,
    `carry only keys (the events of a batch with the same payload resolve once), ${round(f.enrichedDistinct.serverCpuMicrosPerEvent - f.plain.serverCpuMicrosPerEvent, 1)} µs when each event`,
    `has a payload of its own; per replay batch (one \`_entities\` request, about ${number(keysOnly.eventsPerRequest)} and ${number(distinct.eventsPerRequest)} events), ${keysOnly.ms} and ${distinct.ms} ms.`,
  ]
}

function routerSection(comparison: RouterComparison, options: RouterBenchOptions): string[] {
  if ('unavailable' in comparison) return ['## Beside the Cosmo router', '', `Not measured: ${comparison.unavailable}.`, '']
  const lines = [
    '## Beside the Cosmo router',
    '',
    `The Cosmo router ${comparison.routerVersion} (built from source, config composed by \`wgc router compose\` from`,
    'bench/router-graph: an event-driven subgraph on the same subject) and the Node entry, on one nats-server, with the same SSE',
    `clients. Live: N streams on one server at a time, ${options.eventsPerTurn} events ${options.intervalMs} ms apart, every stream timing every event;`,
    `${options.repeats} turns each, alternating (medians; lost is the sum). CPU (user + system, per event that reached a stream) and`,
    'RSS (streams open, before the events) from /proc for both. At one stream the CPU is mostly the idle process\'s own. Ratios are',
    'the Node entry over the router, from this run.',
    '',
    '| streams | p50 edge / router | ratio | p99 edge / router | ratio | CPU per delivery edge / router | ratio | RSS edge / router | ratio | lost edge / router |',
    '|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ]
  for (const [count, { edge, router, ratio }] of Object.entries(comparison.live)) {
    lines.push(
      `| ${number(Number(count))} | ${edge.p50Ms} / ${router.p50Ms} ms | ${ratio.p50} | ${edge.p99Ms} / ${router.p99Ms} ms | ${ratio.p99} | ${edge.cpuMicrosPerDelivery} / ${router.cpuMicrosPerDelivery} µs | ${ratio.cpuPerDelivery} | ${mib(edge.rssBytes)} / ${mib(router.rssBytes)} | ${ratio.rss} | ${edge.lost} / ${router.lost} |`,
    )
  }
  const thousand = comparison.live[1000]
  if (thousand) {
    lines.push(
      '',
      `Goal: server CPU per delivery at 1,000 streams ≤ ${GOALS.cpuPerDeliveryVsRouter}× the router's: ${met(thousand.ratio.cpuPerDelivery <= GOALS.cpuPerDeliveryVsRouter)} (${thousand.ratio.cpuPerDelivery}×).`,
    )
  }
  const { replay } = comparison
  lines.push(
    '',
    `Replay of ${number(options.replayEvents)} events from a JetStream stream's start, one stream (the router's JetStream mode, \`streamConfiguration\`;`,
    `median of ${options.replayRounds} rounds): Node entry ${number(replay.edge.median)}/s, router ${number(replay.router.median)}/s, ratio **${replay.ratio}**.`,
    '',
  )
  return lines
}
