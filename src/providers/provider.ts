import type { ProviderKind } from '../graphql/schema'
import type { ComparePositions } from './shared/position-order'

/** What a subscription reads, after its templates were resolved from the operation's arguments. */
export interface ResolvedRoute {
  kind: ProviderKind
  providerId: string
  /** NATS subjects, Kafka topics or Redis stream keys; deduplicated, in schema order. */
  names: string[]
  /** NATS: `streamConfiguration.streamName` when the schema names the stream. */
  streamName?: string
}

/** Where to start: new events only, the log start, or just after a position from a cursor. */
export type StartPosition = { from: 'live' } | { from: 'earliest' } | { from: 'after'; position: string }

/** Why a stream resumed elsewhere than asked: the position was deleted by retention, or the log does not know it. */
export type GapReason = 'retention' | 'unknown-position'

export type ProviderItem =
  /**
   * `position` is undefined for at-most-once events (no log to resume from).
   * `error`: the broker's entry holds no payload (e.g. a Redis entry without its `data`
   * field); the client gets this message as the event's GraphQL error, and the stream goes on.
   */
  | {
      type: 'event'
      position: string | undefined
      text: string
      error?: string
      /** When the broker stored the event (ms since the epoch), where it says (JetStream, Redis ids, memory). */
      publishedAt?: number
    }
  /** `resumedFrom` is the position just before the first event that follows. */
  | { type: 'gap'; requested: string | null; resumedFrom: string; reason: GapReason }
  /**
   * No log holds these names (a NATS subject no JetStream stream captures): the events that
   * follow are live only, at most once, without positions. Said once, before the first of them.
   */
  | { type: 'no-history'; names: string[] }
  /**
   * How many events lay between the start position and the head of the log when the read
   * began, where the broker says so without another request (a JetStream consumer's
   * num_pending). Said once, before the first event; nothing is sent for it (metrics, logs).
   */
  | { type: 'backlog'; events: number }

/**
 * A consumer that takes batches as the provider has them, without a promise between them: the
 * streams fed by one shared reader (LiveFanout), which through their iterators would each wake
 * on their own for every batch. Providers that read for one stream alone ignore it.
 */
export interface BatchReceiver {
  /**
   * Offered a batch only while the consumer waits in the iterator's `next()` and nothing older
   * waits to be yielded; true when it took the batch, false when the batch is to come through
   * the iterator instead. When it throws, the iterator throws that error next.
   */
  take(batch: readonly ProviderItem[]): boolean
}

/**
 * One broker behind one small interface. `open` yields batches in log order and
 * pulls the next batch only when asked (backpressure). When `signal` aborts, the
 * provider releases every broker resource and its iterator ends.
 * Broker failures are thrown from the iterator; the app turns them into
 * `UPSTREAM_UNAVAILABLE` without showing their text. A provider given a `receiver` may hand
 * it batches instead of yielding them, as `BatchReceiver` says.
 */
export interface Provider {
  /** Whether a cursor's position text is one this provider could have written for this route. */
  isValidPosition(position: string, route: ResolvedRoute): boolean
  /**
   * The order of this provider's positions in one route's log: LiveFanout joins a stream to the
   * shared reader by it, and a signed cursor of a batch must lie within the batch by it.
   */
  readonly comparePositions: ComparePositions
  open(route: ResolvedRoute, start: StartPosition, signal: AbortSignal, receiver?: BatchReceiver): AsyncIterable<ProviderItem[]>
}

/** Providers by `kind:providerId`, as EDFS routes name them. */
export type ProviderRegistry = ReadonlyMap<string, Provider>

export const providerKey = (kind: ProviderKind, providerId: string): string => `${kind}:${providerId}`
