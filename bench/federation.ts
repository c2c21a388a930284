/**
 * A federated graph's subscriptions: the test graph (the Cosmo demo's employeeupdated subgraph,
 * composed by wgc) through the Node entry with EXECUTION_CONFIG_FILE_PATH, against JetStream and
 * the test subgraph servers. In the same run: a replay of the events selecting only what they
 * carry (`{ id }`, projected as without federation) and selecting a field of the employees
 * subgraph (`{ id details { forename } }`, one `_entities` request per provider batch), on events
 * that carry only their keys (a hundred employees, each again and again) and on events that each
 * carry a payload of their own, with the subgraph requests and the Node entry's CPU counted; and the
 * live delay from publish to client for both.
 */
import { jetstream, jetstreamManager } from '@nats-io/jetstream'
import { composeTestGraph } from '../test/support/federation/compose'
import { startTestSubgraphs } from '../test/support/federation/subgraph-servers'
import { startJetStream } from './brokers/jetstream'
import { startNodeServer } from './support/node-server'
import { readSse } from './support/sse-reader'
import { median, percentile, round } from './support/stats'

export interface FederationFigures {
  events: number
  distinctEmployees: number
  rounds: number
  /** Events per second, median of the rounds, and each round; the Node entry's CPU time (user + system) per event, median. */
  plain: { median: number; runs: number[]; serverCpuMicrosPerEvent: number }
  enriched: { median: number; runs: number[]; employeesRequests: number[]; serverCpuMicrosPerEvent: number }
  /** The enriched selection on events that each carry a payload of their own (the same employees, and a sequence number). */
  enrichedDistinct: { median: number; runs: number[]; employeesRequests: number[]; serverCpuMicrosPerEvent: number }
  /** enriched / plain. */
  ratio: number
  live: { events: number; intervalMs: number; plainP50Ms: number; plainP99Ms: number; enrichedP50Ms: number; enrichedP99Ms: number; enrichedRequests: number }
}

const SUBJECT_ID = 1
const DISTINCT_SUBJECT_ID = 3
const plainQuery = `subscription { employeeUpdated(employeeID: ${SUBJECT_ID}) { id } }`
const enrichedQuery = `subscription { employeeUpdated(employeeID: ${SUBJECT_ID}) { id details { forename } } }`
const enrichedDistinctQuery = enrichedQuery.replace(`(employeeID: ${SUBJECT_ID})`, `(employeeID: ${DISTINCT_SUBJECT_ID})`)

export async function benchFederation(events: number, rounds: number, live: { events: number; intervalMs: number }): Promise<FederationFigures> {
  const nats = await startJetStream()
  const subgraphs = await startTestSubgraphs()
  const distinctEmployees = 100
  try {
    const config = await composeTestGraph()
    await (await jetstreamManager(nats.nc)).streams.add({ name: 'FEDERATION', subjects: ['employeeUpdated.>'] })
    const js = jetstream(nats.nc)
    for (let first = 0; first < events; first += 2000) {
      const acks: Promise<unknown>[] = []
      for (let n = first; n < Math.min(events, first + 2000); n++) {
        const id = (n % distinctEmployees) + 1
        acks.push(js.publish(`employeeUpdated.${SUBJECT_ID}`, JSON.stringify({ __typename: 'Employee', id })))
        acks.push(js.publish(`employeeUpdated.${DISTINCT_SUBJECT_ID}`, JSON.stringify({ __typename: 'Employee', id, seq: n })))
      }
      await Promise.all(acks)
    }
    const server = await startNodeServer({
      EXECUTION_CONFIG_FILE_PATH: config.path,
      NATS_DEFAULT_URL: nats.wsUrl,
      NATS_MY_NATS_URL: nats.wsUrl,
      KAFKA_MY_KAFKA_URL: 'http://127.0.0.1:9',
      REDIS_MY_REDIS_URL: 'http://127.0.0.1:9',
      REDIS_MY_REDIS_TOKEN: 'unused',
      ...subgraphs.env,
    })
    try {
      const replays = { plain: new Replays(plainQuery), enriched: new Replays(enrichedQuery), enrichedDistinct: new Replays(enrichedDistinctQuery) }
      for (let round = 0; round < rounds; round++) {
        // Alternating, so that a change of the machine's load falls on each alike.
        for (const replay of Object.values(replays)) {
          subgraphs.reset()
          const before = await server.cpuMicros()
          replay.rates.push(await replayRate(server.baseUrl, replay.query, events))
          replay.cpu.push(((await server.cpuMicros()) - before) / events)
          replay.employeesRequests.push(subgraphs.employees.requests)
        }
      }
      subgraphs.reset()
      const delays = await liveDelays(server.baseUrl, nats.nc, live.events, live.intervalMs)
      const enrichedRequests = subgraphs.employees.requests
      return {
        events,
        distinctEmployees,
        rounds,
        plain: replays.plain.figures(),
        enriched: { ...replays.enriched.figures(), employeesRequests: replays.enriched.employeesRequests },
        enrichedDistinct: { ...replays.enrichedDistinct.figures(), employeesRequests: replays.enrichedDistinct.employeesRequests },
        ratio: round(median(replays.enriched.rates) / median(replays.plain.rates), 2),
        live: {
          ...live,
          plainP50Ms: round(percentile(delays.plain, 50), 1),
          plainP99Ms: round(percentile(delays.plain, 99), 1),
          enrichedP50Ms: round(percentile(delays.enriched, 50), 1),
          enrichedP99Ms: round(percentile(delays.enriched, 99), 1),
          enrichedRequests,
        },
      }
    } finally {
      await server.close()
    }
  } finally {
    await subgraphs.close()
    await nats.stop()
  }
}

/** One selection's replays: each round's rate, Node entry CPU per event and employees subgraph requests. */
class Replays {
  readonly rates: number[] = []
  readonly cpu: number[] = []
  readonly employeesRequests: number[] = []

  constructor(readonly query: string) {}

  figures() {
    return { median: median(this.rates), runs: this.rates, serverCpuMicrosPerEvent: round(median(this.cpu), 1) }
  }
}

/** Events per second of one stream reading `total` events from the log's start. */
async function replayRate(baseUrl: string, query: string, total: number): Promise<number> {
  const url = `${baseUrl}/graphql/stream?${new URLSearchParams({ query, from: 'earliest' })}`
  const started = performance.now()
  let read = 0
  let finish!: () => void
  const finished = new Promise<void>((resolve) => (finish = resolve))
  const reader = await readSse(url, {
    onEvent(event) {
      if (event.event !== 'next') throw new Error(`unexpected ${event.event} event: ${event.data}`)
      if (JSON.parse(event.data).errors) throw new Error(`an event with errors: ${event.data}`)
      if (++read === total) finish()
    },
  })
  await Promise.race([finished, reader.ended.then(() => Promise.reject(new Error(`the stream ended after ${read} of ${total} events`)))])
  reader.close()
  return Math.round(total / ((performance.now() - started) / 1000))
}

/**
 * Publish-to-client delays (ms) of a plain and an enriched stream, side by side. They read their
 * subject from the log's start, which is empty when they open: every event is one published after.
 */
async function liveDelays(baseUrl: string, nc: Parameters<typeof jetstream>[0], count: number, intervalMs: number) {
  const subject = `employeeUpdated.${SUBJECT_ID + 1}`
  const publishedAt = new Map<number, number>()
  const delays = { plain: [] as number[], enriched: [] as number[] }
  const open = async (query: string, into: number[]) => {
    let received = 0
    let done!: () => void
    const all = new Promise<void>((resolve) => (done = resolve))
    const reader = await readSse(`${baseUrl}/graphql/stream?${new URLSearchParams({ query: query.replace(`${SUBJECT_ID})`, `${SUBJECT_ID + 1})`), from: 'earliest' })}`, {
      onEvent(event, receivedAt) {
        const id = JSON.parse(event.data).data.employeeUpdated.id as number
        into.push(receivedAt - publishedAt.get(id)!)
        if (++received === count) done()
      },
    })
    return { reader, all }
  }
  const streams = [await open(plainQuery, delays.plain), await open(enrichedQuery, delays.enriched)]
  const js = jetstream(nc)
  for (let n = 1; n <= count; n++) {
    publishedAt.set(n, performance.now())
    await js.publish(subject, JSON.stringify({ __typename: 'Employee', id: n }))
    await new Promise((resolve) => setTimeout(resolve, intervalMs))
  }
  await Promise.all(streams.map((stream) => stream.all))
  for (const stream of streams) stream.reader.close()
  return delays
}
