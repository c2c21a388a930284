import type { Env } from '../../src/config/env'

/**
 * A broker seeded with events for the replay benchmark, readable two ways: through
 * the function (its `env` configures a schema whose field `events` reads them) and
 * directly by the broker's own client, over the same protocol the provider uses.
 */
export interface ReplayBroker {
  /** The provider's name in the results. */
  name: string
  env: Env
  /** Reads the first `total` events with the broker's own client, parsing each payload. */
  readRaw(total: number): Promise<void>
  stop(): Promise<void>
}

export const replayQuery = 'subscription { events { n pad } }'

/** The schema's types; each broker adds its `Subscription.events` route. */
export const eventType = 'type Query { ok: Boolean }\ntype Event { n: Int! pad: String! }'

export const PAYLOAD_BYTES = 100

/** Event `n` as JSON text of exactly PAYLOAD_BYTES bytes. */
export function payload(n: number): string {
  const head = `{"n":${n},"pad":"`
  return `${head}${'x'.repeat(PAYLOAD_BYTES - head.length - 2)}"}`
}
