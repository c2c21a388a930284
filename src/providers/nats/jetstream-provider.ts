import type { NatsConnection, QueuedIterator, Status, Subscription } from '@nats-io/nats-core'
import { JetStreamApiCodes, JetStreamApiError, jetstreamManager, type JetStreamManager } from '@nats-io/jetstream'
import { StreamError } from '../../errors'
import type { Provider, ProviderItem, ResolvedRoute, StartPosition } from '../provider'
import { addConsumer, ConsumerPuller } from './jetstream-pull'
import { compareSequencePositions, isSequencePosition, planSequenceStart } from '../shared/sequence'
import { Mailbox } from '../shared/mailbox'
import type { NatsConnector } from './nats-connection'
import { subjectMatches } from './subjects'

export interface JetStreamOptions {
  /** Messages asked for at once: with `pullMaxBytes`, the most a slow client can leave buffered here. */
  batchSize?: number
  /** Bytes asked for at once (raised to the server's largest message). */
  pullMaxBytes?: number
  /** How long one pull waits for live messages before it is renewed. */
  pullExpiresMs?: number
  /**
   * How often the server tells a waiting pull that it is still there (at most half of
   * `pullExpiresMs`); a pull silent for two of these ends the stream, and the client resumes.
   */
  pullHeartbeatMs?: number
  /** Most at-most-once messages held for a slow client before its stream is cut. */
  liveBufferLimit?: number
  /** Refuse subjects that no stream captures instead of serving them live, at most once. */
  requireHistory?: boolean
}

/** What a message costs in a pull's byte budget beyond its payload: subject, reply and headers. */
const MESSAGE_OVERHEAD_BYTES = 64 * 1024

/** Servers before 2.10 take a single filter subject per consumer. */
const supportsManyFilters = (nc: NatsConnection): boolean => {
  const [major = 0, minor = 0] = (nc.info?.version ?? '0.0').split('.').map(Number)
  return major > 2 || (major === 2 && minor >= 10)
}

export class JetStreamProvider implements Provider {
  private readonly batchSize: number
  private readonly pullMaxBytes: number
  private readonly pullExpiresMs: number
  private readonly pullHeartbeatMs: number
  private readonly liveBufferLimit: number
  private readonly requireHistory: boolean

  constructor(
    private readonly connector: NatsConnector,
    options: JetStreamOptions = {},
  ) {
    this.batchSize = options.batchSize ?? 1000
    this.pullMaxBytes = options.pullMaxBytes ?? 1024 * 1024
    this.pullExpiresMs = options.pullExpiresMs ?? 30_000
    this.pullHeartbeatMs = options.pullHeartbeatMs ?? this.pullExpiresMs / 2
    this.liveBufferLimit = options.liveBufferLimit ?? 10_000
    this.requireHistory = options.requireHistory ?? false
  }

  readonly comparePositions = compareSequencePositions

  isValidPosition(position: string): boolean {
    return isSequencePosition(position)
  }

  async *open(route: ResolvedRoute, start: StartPosition, signal: AbortSignal): AsyncIterable<ProviderItem[]> {
    const nc = await this.connector.acquire()
    // Aborts with the reason when a connection of the stream dies under it, silently included.
    const lost = new AbortController()
    // The library's status iterators are QueuedIterators: stopped here, so that a shared
    // connection does not keep one for every stream that ever used it.
    const statuses: QueuedIterator<Status>[] = []
    const watch = (connection: NatsConnection) => {
      const status = connection.status() as QueuedIterator<Status>
      statuses.push(status)
      void connectionFailure(status).then((error) => lost.abort(error))
    }
    watch(nc)
    try {
      const api = (await this.connector.apiConnection?.(nc)) ?? nc
      if (api !== nc) watch(api)
      const jsm = await managerOf(api)
      const stream = route.streamName ?? (await findStream(jsm, route.names))
      if (stream === undefined) {
        if (this.requireHistory) {
          throw new StreamError('NO_HISTORY', `No JetStream stream captures ${route.names.join(', ')}`, true)
        }
        // No stream captures these subjects: there is no history, so serve live core NATS, at most once.
        yield* this.readCore(nc, route.names, signal, lost.signal)
      } else {
        yield* this.readStream(nc, api, jsm, stream, route.names, start, signal, lost.signal)
      }
    } finally {
      for (const status of statuses) status.stop()
      // Closing a dead connection can wait on it for a long time; the stream must end now.
      if (lost.signal.aborted) void this.connector.release(nc)
      else await this.connector.release(nc)
    }
  }

  /** Pulls the stream's messages through `nc`; `jsm` makes its API requests on `api` (`nc` unless the connector keeps them apart). */
  private async *readStream(
    nc: NatsConnection,
    api: NatsConnection,
    jsm: JetStreamManager,
    stream: string,
    subjects: string[],
    start: StartPosition,
    signal: AbortSignal,
    lost: AbortSignal,
  ): AsyncIterable<ProviderItem[]> {
    const { state } = await jsm.streams.info(stream)
    const plan = planSequenceStart(start, { first: state.first_seq, last: state.last_seq })
    // Older servers filter one subject per consumer: with several, read the stream and filter here.
    const filterHere = subjects.length > 1 && !supportsManyFilters(api)
    if (plan.deliver === 'from' && plan.gap) yield [plan.gap]

    const { name: consumer, pending } = await addConsumer(jsm, stream, {
      subjects: filterHere ? [] : subjects,
      ...(plan.deliver === 'from' ? { sequence: plan.sequence } : {}),
    })
    const mailbox = new Mailbox<ProviderItem>()
    // Not when filtering here: the count would include other subjects' messages.
    if (plan.deliver === 'from' && !filterHere) mailbox.push({ type: 'backlog', events: pending })
    // Large messages fill a pull by bytes before its count; the largest one the server takes must fit.
    const maxBytes = Math.max(this.pullMaxBytes, (nc.info?.max_payload ?? 0) + MESSAGE_OVERHEAD_BYTES)
    let failure: Error | undefined
    // Everything one WebSocket frame brings arrives in one turn, so it leaves as one batch.
    const puller = new ConsumerPuller(nc, stream, consumer, {
      message: (position, m, publishedAt) => {
        if (!filterHere || subjects.some((s) => subjectMatches(s, m.subject))) {
          mailbox.push({ type: 'event', position, text: m.string(), publishedAt })
        }
      },
      ended: () => mailbox.notify(),
      failed: (error) => {
        failure = error
        mailbox.notify()
      },
    }, { expiresMs: this.pullExpiresMs, idleHeartbeatMs: this.pullHeartbeatMs })
    const onAbort = () => mailbox.notify()
    signal.addEventListener('abort', onAbort, { once: true })
    lost.addEventListener('abort', onAbort, { once: true })
    try {
      while (!signal.aborted) {
        if (lost.aborted) throw lost.reason
        if (failure) throw failure
        // Backpressure: what is asked for and what waits here stay within one batch, each pull within its bytes,
        // and pulls are sent only when the client wants more. Topping up once half of it has moved on
        // keeps the next messages on their way while we write, as the broker's own client does.
        const room = this.batchSize - puller.outstanding - mailbox.size
        if (room * 2 >= this.batchSize) puller.pull(room, maxBytes)
        if (mailbox.size > 0) {
          yield mailbox.takeAll()
          continue
        }
        await mailbox.wait()
      }
    } finally {
      signal.removeEventListener('abort', onAbort)
      lost.removeEventListener('abort', onAbort)
      puller.stop()
      // On a dead connection the delete would only time out; the server expires the consumer itself.
      if (!lost.aborted) await jsm.consumers.delete(stream, consumer).catch(() => {})
    }
  }

  private async *readCore(nc: NatsConnection, subjects: string[], signal: AbortSignal, lost: AbortSignal): AsyncIterable<ProviderItem[]> {
    const mailbox = new Mailbox<ProviderItem>()
    let overflow = false
    const subscriptions: Subscription[] = subjects.map((subject) =>
      nc.subscribe(subject, {
        callback: (_error, m) => {
          if (mailbox.size < this.liveBufferLimit) mailbox.push({ type: 'event', position: undefined, text: m.string() })
          else overflow = true
        },
      }),
    )
    // Once the server has the subscriptions, the client learns that what follows is live only.
    await nc.flush()
    mailbox.push({ type: 'no-history', names: subjects })
    const onAbort = () => mailbox.notify()
    signal.addEventListener('abort', onAbort, { once: true })
    lost.addEventListener('abort', onAbort, { once: true })
    try {
      // A client too slow for live core NATS is cut rather than buffered without bound.
      while (!signal.aborted && !overflow) {
        if (lost.aborted) throw lost.reason
        if (mailbox.size > 0) yield mailbox.takeAll()
        else await mailbox.wait()
      }
    } finally {
      signal.removeEventListener('abort', onAbort)
      lost.removeEventListener('abort', onAbort)
      for (const subscription of subscriptions) subscription.unsubscribe()
    }
  }
}

const managersByConnection = new WeakMap<NatsConnection, Promise<JetStreamManager>>()

/**
 * The JetStream manager of a connection, made once for all the streams on it (a shared
 * connection has many): it holds no per-stream state, and making it costs a request.
 */
function managerOf(nc: NatsConnection): Promise<JetStreamManager> {
  let manager = managersByConnection.get(nc)
  if (!manager) {
    manager = jetstreamManager(nc)
    managersByConnection.set(nc, manager)
    // A failed check is not kept: the next stream on this connection asks again.
    manager.catch(() => managersByConnection.delete(nc))
  }
  return manager
}

/**
 * The one stream that captures all the subjects, or undefined when none does. Only the answer
 * "no stream matches" means none: a cluster without a meta leader (an election, a partition)
 * answers with an error or not at all, and taking that for "no stream" would serve the subjects
 * live, at most once, losing their history; it fails the stream instead, and the client resumes.
 */
async function findStream(jsm: JetStreamManager, subjects: string[]): Promise<string | undefined> {
  const names = await Promise.all(subjects.map((subject) => jsm.streams.find(subject).catch(noStreamMatches)))
  const distinct = new Set(names)
  if (distinct.size === 1) return names[0]
  if (names.every((name) => name === undefined)) return undefined
  throw new Error(`subjects ${subjects.join(', ')} are not all captured by one stream`)
}

function noStreamMatches(error: unknown): undefined {
  if (error instanceof JetStreamApiError && error.code === JetStreamApiCodes.StreamNotFound) return undefined
  throw error
}

/**
 * Resolves when the connection can no longer serve the stream: it closed, or it went
 * silent (pings unanswered, see nats-connection.ts). A silent connection takes long
 * to close (the WebSocket close handshake waits on it), so silence is failure at once.
 */
async function connectionFailure(statuses: AsyncIterable<Status>): Promise<Error> {
  for await (const status of statuses) {
    if (status.type === 'staleConnection') return new Error('the NATS connection stopped answering pings')
    if (status.type === 'disconnect' || status.type === 'close') break
  }
  return new Error('the NATS connection closed')
}
