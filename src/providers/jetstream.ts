import type { NatsConnection, QueuedIterator, Status, Subscription } from '@nats-io/nats-core'
import {
  DeliverPolicy,
  jetstream,
  jetstreamManager,
  type ConsumeCallback,
  type Consumer,
  type ConsumerMessages,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
  type OrderedConsumerOptions,
} from '@nats-io/jetstream'
import { StreamError } from '../errors'
import { silentLogger, type Logger } from '../log'
import type { Provider, ProviderItem, ResolvedRoute, StartPosition } from './provider'
import { isSequencePosition, planSequenceStart } from './sequence'
import { Mailbox } from './mailbox'
import { subjectMatches } from './subjects'

/**
 * How a stream gets its NATS connection. On Workers a connection cannot outlive
 * its request, so each stream opens its own; a Node server may share one.
 */
export interface NatsConnector {
  acquire(): Promise<NatsConnection>
  release(nc: NatsConnection): Promise<void>
}

export interface JetStreamOptions {
  /** Messages per pull request: the most a slow client can leave buffered here. */
  batchSize?: number
  /** How long one pull waits for live messages before it is renewed. */
  pullExpiresMs?: number
  /** Most at-most-once messages held for a slow client before its stream is cut. */
  liveBufferLimit?: number
  /** Refuse subjects that no stream captures instead of serving them live, at most once. */
  requireHistory?: boolean
  log?: Logger
}

/** Servers before 2.10 take a single filter subject per consumer. */
const supportsManyFilters = (nc: NatsConnection): boolean => {
  const [major = 0, minor = 0] = (nc.info?.version ?? '0.0').split('.').map(Number)
  return major > 2 || (major === 2 && minor >= 10)
}

export class JetStreamProvider implements Provider {
  private readonly batchSize: number
  private readonly pullExpiresMs: number
  private readonly liveBufferLimit: number
  private readonly requireHistory: boolean
  private readonly log: Logger

  constructor(
    private readonly connector: NatsConnector,
    options: JetStreamOptions = {},
  ) {
    this.batchSize = options.batchSize ?? 1000
    this.pullExpiresMs = options.pullExpiresMs ?? 30_000
    this.liveBufferLimit = options.liveBufferLimit ?? 10_000
    this.requireHistory = options.requireHistory ?? false
    this.log = options.log ?? silentLogger
  }

  isValidPosition(position: string): boolean {
    return isSequencePosition(position)
  }

  async *open(route: ResolvedRoute, start: StartPosition, signal: AbortSignal): AsyncIterable<ProviderItem[]> {
    const nc = await this.connector.acquire()
    // Aborts with the reason when the connection dies under the stream, silently included.
    const lost = new AbortController()
    // The library's status iterators are QueuedIterators: stopped here, so that a shared
    // connection does not keep one for every stream that ever used it.
    const status = nc.status() as QueuedIterator<Status>
    void connectionFailure(status).then((error) => lost.abort(error))
    try {
      const { jsm, js } = await clientsOf(nc)
      const stream = route.streamName ?? (await findStream(jsm, route.names))
      if (stream === undefined) {
        if (this.requireHistory) {
          throw new StreamError('NO_HISTORY', `No JetStream stream captures ${route.names.join(', ')}`, true)
        }
        // No stream captures these subjects: there is no history, so serve live core NATS, at most once.
        this.log('warn', 'stream.no_history', { subjects: route.names, delivery: 'at-most-once' })
        yield* this.readCore(nc, route.names, signal, lost.signal)
      } else {
        yield* this.readStream(nc, jsm, js, stream, route.names, start, signal, lost.signal)
      }
    } finally {
      status.stop()
      // Closing a dead connection can wait on it for a long time; the stream must end now.
      if (lost.signal.aborted) void this.connector.release(nc)
      else await this.connector.release(nc)
    }
  }

  private async *readStream(
    nc: NatsConnection,
    jsm: JetStreamManager,
    js: JetStreamClient,
    stream: string,
    subjects: string[],
    start: StartPosition,
    signal: AbortSignal,
    lost: AbortSignal,
  ): AsyncIterable<ProviderItem[]> {
    const { state } = await jsm.streams.info(stream)
    const plan = planSequenceStart(start, { first: state.first_seq, last: state.last_seq })
    // Older servers filter one subject per consumer: with several, read the stream and filter here.
    const filterHere = subjects.length > 1 && !supportsManyFilters(nc)
    const options: Partial<OrderedConsumerOptions> = {
      filter_subjects: filterHere ? '>' : subjects.length === 1 ? subjects[0]! : subjects,
      ...(plan.deliver === 'new'
        ? { deliver_policy: DeliverPolicy.New }
        : { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: plan.sequence }),
    }
    if (plan.deliver === 'from' && plan.gap) yield [plan.gap]

    const consumer = await js.consumers.get(stream, options)
    const mailbox = new Mailbox<ProviderItem>()
    let pull: ConsumerMessages | undefined
    let pullError: unknown
    const onAbort = () => {
      pull?.stop()
      mailbox.notify()
    }
    signal.addEventListener('abort', onAbort, { once: true })
    lost.addEventListener('abort', onAbort, { once: true })
    try {
      while (!signal.aborted) {
        if (lost.aborted) throw lost.reason
        if (pullError !== undefined) throw pullError
        if (mailbox.size > 0) {
          yield mailbox.takeAll()
          continue
        }
        // A new pull only once the previous one is delivered and taken: this is the backpressure.
        if (pull === undefined) {
          // A callback delivers a whole WebSocket frame of messages in one turn, so they
          // leave as one batch. fetch() honours it as consume() does; its type omits it.
          const callback: ConsumeCallback = {
            callback: (m: JsMsg) => {
              if (!filterHere || subjects.some((s) => subjectMatches(s, m.subject))) {
                mailbox.push({ type: 'event', position: String(m.seq), text: m.string() })
              }
            },
          }
          const current = await consumer.fetch({ max_messages: this.batchSize, expires: this.pullExpiresMs, ...callback })
          pull = current
          current.closed().then(
            () => {
              if (pull === current) pull = undefined
              mailbox.notify()
            },
            (error: unknown) => {
              pullError = error
              mailbox.notify()
            },
          )
          if (signal.aborted) current.stop()
          continue
        }
        await mailbox.wait()
      }
    } finally {
      signal.removeEventListener('abort', onAbort)
      lost.removeEventListener('abort', onAbort)
      pull?.stop()
      // On a dead connection the delete would only time out; the server expires the consumer itself.
      if (!lost.aborted) await deleteConsumer(consumer)
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

const clientsByConnection = new WeakMap<NatsConnection, Promise<{ jsm: JetStreamManager; js: JetStreamClient }>>()

/**
 * The JetStream clients of a connection, made once for all the streams on it (a shared
 * connection has many): they hold no per-stream state, and making the manager costs a
 * request to the server.
 */
function clientsOf(nc: NatsConnection): Promise<{ jsm: JetStreamManager; js: JetStreamClient }> {
  let clients = clientsByConnection.get(nc)
  if (!clients) {
    clients = jetstreamManager(nc).then((jsm) => ({ jsm, js: jetstream(nc) }))
    clientsByConnection.set(nc, clients)
    // A failed check is not kept: the next stream on this connection asks again.
    clients.catch(() => clientsByConnection.delete(nc))
  }
  return clients
}

/** The one stream that captures all the subjects, or undefined when none does. */
async function findStream(jsm: JetStreamManager, subjects: string[]): Promise<string | undefined> {
  const names = await Promise.all(subjects.map((subject) => jsm.streams.find(subject).catch(() => undefined)))
  const distinct = new Set(names)
  if (distinct.size === 1) return names[0]
  if (names.every((name) => name === undefined)) return undefined
  throw new Error(`subjects ${subjects.join(', ')} are not all captured by one stream`)
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

/** Ephemeral consumers would otherwise linger on the server until their inactivity threshold. */
async function deleteConsumer(consumer: Consumer): Promise<void> {
  try {
    await consumer.delete()
  } catch {
    // The connection may already be gone; the server then expires the consumer itself.
  }
}
