import type { Env } from '../../../src/config/env'
import type { Delivery } from './delivery-count'

/** A fault a feed can inject; `inject` resolves once the fault is over (healed, restarted). */
export interface Fault {
  kind: FaultKind
  inject(random: () => number): Promise<void>
}

export type FaultKind =
  | 'proxy-reset'
  | 'proxy-stall'
  | 'proxy-blackhole'
  | 'broker-restart'
  /** A cluster's: the stream's or partition's leader SIGKILLed, the function's node SIGKILLed, a node cut off from its peers. */
  | 'leader-kill'
  | 'connected-node-kill'
  | 'node-partition'

/**
 * One provider's side of a reliability run: its broker (restartable), the fault
 * proxy between the function and that broker, a producer that publishes with
 * retries and without duplicates, and a reader of the log as the broker holds it.
 */
export interface Feed {
  provider: 'jetstream' | 'jetstream-cluster' | 'redis' | 'kafka' | 'kafka-cluster-redpanda' | 'kafka-cluster-upstash' | 'memory'
  /** The function's configuration: schema and broker URL (through the proxy). */
  env: Env
  /** How many lanes (ordering units) a run's events are spread over. */
  lanes: number
  /** Creates the log of run `run` (a stream, keys, a topic). */
  prepare(run: string): Promise<void>
  /** Publishes in order; retried until the broker has each event once. */
  publish(run: string, events: readonly PublishedEvent[]): Promise<void>
  /** Every entry of the run's log, in log order. */
  readLog(run: string): Promise<Delivery[]>
  faults: Fault[]
  /**
   * What the broker side holds for the function's streams now, by name (consumers,
   * connections, blocked commands): every figure is 0 once no stream is open.
   */
  held(run: string): Promise<Record<string, number>>
  close(): Promise<void>
}

/** `pad` makes events as large as a test wants them (the backpressure scenario). */
export type PublishedEvent = Delivery & { pad?: string }

/** The schema of every feed: one field, one log per run. */
export function feedSchema(directive: string): string {
  return /* GraphQL */ `
    type Query { ok: Boolean }
    type Event { n: Int! lane: Int! pad: String }
    type Subscription {
      events(run: String!): Event! ${directive}
    }
  `
}

export const eventsQuery = (run: string, selection = 'n lane') => `subscription { events(run: "${run}") { ${selection} } }`

export function feedUrl(baseUrl: string, run: string, params: Record<string, string> = {}, selection?: string): string {
  return `${baseUrl}/graphql/stream?${new URLSearchParams({ query: eventsQuery(run, selection), ...params })}`
}
