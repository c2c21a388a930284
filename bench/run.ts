/**
 * `npm run bench`: the figures the README and docs quote, on loopback against brokers it
 * starts itself. Writes bench/results.json and bench/RESULTS.md. `BENCH_ONLY=replay-jetstream,live`
 * runs the sections named (or starting so: `replay` is every broker's replay) and prints their
 * figures without writing the files; with `BENCH_MERGE=1` as well, their figures replace those
 * sections in bench/results.json (the report says which sections came from which run) and
 * RESULTS.md is written again.
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import '../src/runtime/node-websocket'
import { currentNatsServerBinary } from '../test/support/nats-server'
import { PAYLOAD_BYTES } from './brokers/broker'
import { startJetStreamReplay } from './brokers/jetstream'
import { startKafkaReplay } from './brokers/kafka'
import { startRedisReplay } from './brokers/redis'
import { benchBundle } from './bundle'
import { benchEdgeFanout } from './edge-fanout'
import { benchFederation } from './federation'
import { benchLive } from './live'
import { renderReport, type BenchResults } from './report'
import { benchReplay } from './replay'
import { benchResume } from './resume'
import { benchRouter } from './router'
import { describeCommit, describeMachine, describeVersions } from './support/machine'

const settings = {
  replay: { events: 100_000, payloadBytes: PAYLOAD_BYTES, rounds: 9 },
  resume: { depths: [1_000, 100_000, 1_000_000], runs: 7 },
  live: { latencyAt: [1, 100, 1000, 5000], memoryAt: [100, 250, 500, 750, 1000], rounds: 5, eventsPerRound: 20, intervalMs: 200 },
  federation: { events: 20_000, rounds: 5, live: { events: 50, intervalMs: 50 } },
  router: { streamCounts: [1, 100, 1000], repeats: 3, eventsPerTurn: 40, intervalMs: 100, replayEvents: 20_000, replayRounds: 3 },
  edge: { streamsAt: (process.env.BENCH_EDGE_STREAMS ?? '1,100,1000').split(',').map(Number), rounds: 3, eventsPerRound: 20, intervalMs: 200 },
}

/** Every provider that has landed, read through the same protocol its provider uses. */
const replayBrokers = { jetstream: startJetStreamReplay, kafka: startKafkaReplay, redis: startRedisReplay }

const only = process.env.BENCH_ONLY?.split(',').map((name) => name.trim())
const runs = (section: string) => !only || only.some((name) => section.startsWith(name))
const log = (message: string) => console.error(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}`)

const results: BenchResults = {
  generatedAt: new Date().toISOString(),
  commit: describeCommit(),
  machine: describeMachine(),
  versions: {},
  settings,
}
for (const [name, start] of Object.entries(replayBrokers)) {
  if (runs(`replay-${name}`)) {
    log(`replay ${name}`)
    results.replay ??= {}
    results.replay[name] = await benchReplay(start, settings.replay.events, settings.replay.rounds)
  }
}
if (runs('resume')) {
  log('resume')
  results.resume = await benchResume(settings.resume.depths, settings.resume.runs)
}
if (runs('live')) {
  log('live latency and memory')
  results.live = await benchLive(settings.live)
}
if (runs('federation')) {
  log('federation: replay and live, plain and enriched')
  results.federation = await benchFederation(settings.federation.events, settings.federation.rounds, settings.federation.live)
}
if (runs('router')) {
  log('the Cosmo router side by side')
  results.router = await benchRouter(settings.router, log)
  if ('unavailable' in results.router) log(`without the Cosmo router: ${results.router.unavailable}`)
}
if (runs('edge')) {
  log('edge: Durable Object fan-out on workerd')
  results.edge = await benchEdgeFanout(settings.edge)
}
if (runs('bundle')) {
  log('bundle')
  results.bundle = benchBundle()
}
// After the runs, which install what a fresh clone lacks (the Kafka jars, the current nats-server).
results.versions = describeVersions({
  'nats-server': [currentNatsServerBinary(), '--version'],
  'redis-server': ['redis-server', '--version'],
})

const file = (name: string) => fileURLToPath(new URL(name, import.meta.url))
if (only && process.env.BENCH_MERGE === '1') {
  const earlier = JSON.parse(readFileSync(file('results.json'), 'utf8')) as BenchResults
  const sections = (['replay', 'resume', 'live', 'federation', 'router', 'edge', 'bundle'] as const).filter((section) => results[section] !== undefined)
  const merged: BenchResults = {
    ...earlier,
    ...Object.fromEntries(sections.map((section) => [section, results[section]])),
    settings: { ...earlier.settings, ...Object.fromEntries(sections.flatMap((section) => (section in settings ? [[section, settings[section as keyof typeof settings]]] : []))) },
    versions: { ...earlier.versions, ...results.versions },
    mergedRuns: [
      // An earlier merged run keeps the sections no later run replaced.
      ...(earlier.mergedRuns ?? []).flatMap((run) => {
        const kept = run.sections.split(', ').filter((section) => !sections.includes(section as (typeof sections)[number]))
        return kept.length > 0 ? [{ ...run, sections: kept.join(', ') }] : []
      }),
      { sections: sections.join(', '), generatedAt: results.generatedAt, commit: results.commit, loadAverage: results.machine.loadAverage },
    ],
  }
  writeFileSync(file('results.json'), `${JSON.stringify(merged, null, 2)}\n`)
  writeFileSync(file('RESULTS.md'), renderReport(merged))
  log(`merged ${sections.join(', ')} into bench/results.json and wrote bench/RESULTS.md`)
} else if (only) {
  console.log(JSON.stringify(results, null, 2))
} else {
  writeFileSync(file('results.json'), `${JSON.stringify(results, null, 2)}\n`)
  writeFileSync(file('RESULTS.md'), renderReport(results))
  log('wrote bench/results.json and bench/RESULTS.md')
}
