/**
 * One reader of an ephemeral JetStream consumer: pull requests answered on one inbox.
 *
 * This is what the ordered consumer of @nats-io/jetstream does for a single reader, without
 * its per-message costs: no JsMsg, no split of the whole ack subject into an info object, no
 * subscription per pull. On a 100,000-event replay those were about an eighth of the relay's
 * CPU per event (bench/RESULTS.md). Like the ordered consumer: acknowledgements off, memory
 * storage, one replica; unlike it, a consumer that loses its place is not recreated here —
 * the reader fails, and the client resumes from its cursor on a fresh one.
 *
 * A pull can also go unanswered while the connection lives on (a server that lost the
 * request, a consumer whose server went away in a cluster): the connection's pings still
 * pass, and nothing else would ever come. Pulls therefore ask for idle heartbeats, as the
 * library's consumer does, and a reader that hears nothing for two of them while it waits
 * on a pull fails the same way.
 */
import { createInbox, nanos, nuid, type Msg, type NatsConnection, type Subscription } from '@nats-io/nats-core'
import { IdleHeartbeatMonitor } from '@nats-io/nats-core/internal'
import { AckPolicy, DeliverPolicy, JetStreamApiError, JsHeaders, type JetStreamManager } from '@nats-io/jetstream'

/** Where a new consumer starts, and what it reads. */
export interface ConsumerStart {
  /** Empty: the whole stream. Several subjects need a server ≥ 2.10. */
  subjects: string[]
  /** Undefined: only messages stored from now on. */
  sequence?: number
}

/** What pulls bring: messages in stream order, pulls that end short, or a failure. */
export interface PullHandlers {
  /**
   * `sequence` is the stream sequence as decimal text; `message.subject` is the one it was
   * published on; `publishedAt` when the stream stored it (ms since the epoch).
   */
  message(sequence: string, message: Msg, publishedAt: number): void
  /** A pull ended before its whole batch came (it expired, or ran out of bytes): `outstanding` fell. */
  ended(): void
  failed(error: Error): void
}

/** How long pulls wait, and how often the server says so while one waits with nothing to send. */
export interface PullTiming {
  expiresMs: number
  /** Capped at half of `expiresMs` (the server refuses more). */
  idleHeartbeatMs: number
}

/** An idle consumer outlives a vanished reader this long (the ordered consumer's figure). */
const INACTIVE_THRESHOLD_MS = 5 * 60_000
/** Heartbeats missed in a row before a waiting pull counts as lost (the library's consumer's figure). */
const MISSED_HEARTBEATS = 2
const IDLE_HEARTBEAT = 100

/** A new consumer's name, and the messages it has to deliver before it reaches the head of the stream. */
export interface AddedConsumer {
  name: string
  pending: number
}

/**
 * Creates the consumer under a name of our own, so that it can be deleted by name: a create
 * that times out here may still happen on the server (a slow answer, a lost reply), and the
 * consumer would then wait out its inactive threshold with no reader. Only an answer from the
 * server says that it was not created; after anything else the name is deleted before the
 * failure goes on.
 */
export async function addConsumer(jsm: JetStreamManager, stream: string, start: ConsumerStart): Promise<AddedConsumer> {
  const name = `edge_stream_${nuid.next()}`
  try {
    return { name, pending: await createConsumer(jsm, stream, name, start) }
  } catch (error) {
    if (!(error instanceof JetStreamApiError)) await deleteUnanswered(jsm, stream, name)
    throw error
  }
}

/**
 * Deletes the consumer of a create that got no answer. A delete that finds nothing may have come
 * before the create (still queued on a busy server, or waiting on a cluster's meta leader): the
 * name is then looked up once more, and deleted again if the create has landed since. A create
 * that lands later still leaves its consumer for the inactive threshold.
 */
async function deleteUnanswered(jsm: JetStreamManager, stream: string, name: string): Promise<void> {
  if (await jsm.consumers.delete(stream, name).catch(() => false)) return
  const landedSince = await jsm.consumers.info(stream, name).then(
    () => true,
    () => false,
  )
  if (landedSince) await jsm.consumers.delete(stream, name).catch(() => {})
}

/** Resolves with the messages the consumer has to deliver before it reaches the head of the stream. */
async function createConsumer(jsm: JetStreamManager, stream: string, name: string, start: ConsumerStart): Promise<number> {
  const info = await jsm.consumers.add(stream, {
    name,
    ack_policy: AckPolicy.None,
    mem_storage: true,
    num_replicas: 1,
    inactive_threshold: nanos(INACTIVE_THRESHOLD_MS),
    ...(start.sequence === undefined
      ? { deliver_policy: DeliverPolicy.New }
      : { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: start.sequence }),
    ...(start.subjects.length === 1 ? { filter_subject: start.subjects[0] } : {}),
    ...(start.subjects.length > 1 ? { filter_subjects: start.subjects } : {}),
  })
  return info.num_pending
}

export class ConsumerPuller {
  private readonly subscription: Subscription
  private readonly inbox = createInbox()
  private readonly nextSubject: string
  /** The ack subject of every message carries `.<stream>.<consumer>.<deliveries>.<stream seq>.<delivery seq>.<timestamp ns>.` */
  private readonly marker: string
  private lastDelivery = 0
  /**
   * Messages the pulls sent may still bring. The server spreads messages over a consumer's
   * waiting pulls, so only the total is known: each message takes one off, and a pull that
   * ends early says how many it leaves undelivered.
   */
  private pending = 0
  private done = false
  private readonly expires: number
  private readonly idleHeartbeat: number
  /** Counts silence on the inbox; it only matters while a pull waits (`pending` above 0). */
  private readonly silence: IdleHeartbeatMonitor

  constructor(
    private readonly nc: NatsConnection,
    stream: string,
    consumer: string,
    private readonly handlers: PullHandlers,
    timing: PullTiming,
  ) {
    this.nextSubject = `$JS.API.CONSUMER.MSG.NEXT.${stream}.${consumer}`
    this.marker = `.${stream}.${consumer}.`
    const heartbeatMs = Math.min(timing.idleHeartbeatMs, Math.floor(timing.expiresMs / 2))
    this.expires = nanos(timing.expiresMs)
    this.idleHeartbeat = nanos(heartbeatMs)
    this.subscription = nc.subscribe(this.inbox, {
      callback: (error, message) => (error ? this.fail(error) : this.receive(message)),
    })
    this.silence = new IdleHeartbeatMonitor(heartbeatMs, () => this.silent(), { maxOut: MISSED_HEARTBEATS })
  }

  /** Messages asked for and not yet received. */
  get outstanding(): number {
    return this.pending
  }

  /**
   * Asks for up to `batch` messages and `maxBytes` bytes, which must exceed the largest message
   * (the server ends a pull at the first message that does not fit, and one that fits none
   * would never be delivered).
   */
  pull(batch: number, maxBytes: number): void {
    if (this.done) return
    // Silence counts from the first pull that waits.
    if (this.pending <= 0) this.silence.work()
    this.pending += batch
    // The server answers a pull with messages, then 408 at expiry; 409 if the consumer goes; 503 if
    // nothing serves it; heartbeats while it waits. A connection that goes silent is caught by its
    // pings (nats-connection.ts), a pull that goes silent by its heartbeats.
    const request = JSON.stringify({ batch, max_bytes: maxBytes, expires: this.expires, idle_heartbeat: this.idleHeartbeat })
    this.nc.publish(this.nextSubject, request, { reply: this.inbox })
  }

  stop(): void {
    if (this.done) return
    this.done = true
    this.silence.cancel()
    this.subscription.unsubscribe()
  }

  /** Two heartbeats missed: lost if a pull still waits; nothing owed otherwise (the client is slow). */
  private silent(): boolean {
    if (this.pending <= 0) {
      this.silence.work()
      return false
    }
    this.fail(new Error(`a JetStream pull went silent: ${MISSED_HEARTBEATS} idle heartbeats missed`))
    return true
  }

  private receive(message: Msg): void {
    if (this.done) return
    this.silence.work()
    // Statuses come on the inbox itself; messages keep the subject they were published on.
    if (message.subject === this.inbox) return this.status(message)
    const reply = message.reply ?? ''
    const at = reply.indexOf(this.marker)
    if (at < 0) return this.fail(new Error('a JetStream message without its ack subject'))
    const sequenceAt = reply.indexOf('.', at + this.marker.length) + 1
    const deliveryAt = reply.indexOf('.', sequenceAt) + 1
    const timestampAt = reply.indexOf('.', deliveryAt) + 1
    const delivery = Number(reply.slice(deliveryAt, timestampAt - 1))
    if (delivery !== this.lastDelivery + 1) {
      return this.fail(new Error(`JetStream delivery ${delivery} after ${this.lastDelivery}: the consumer lost its place`))
    }
    this.lastDelivery = delivery
    const publishedAt = Number(reply.slice(timestampAt, reply.indexOf('.', timestampAt))) / 1e6
    this.handlers.message(reply.slice(sequenceAt, deliveryAt - 1), message, publishedAt)
    this.pending--
  }

  private status(message: Msg): void {
    const code = message.headers?.code ?? 0
    const description = message.headers?.description ?? ''
    // A pull waits with nothing to send. It also says what the consumer delivered last: more than
    // arrived here means a message was lost on the way, which no later message would reveal.
    if (code === IDLE_HEARTBEAT) {
      const delivered = Number(message.headers?.get(JsHeaders.LastConsumerSeqHdr) || 0)
      if (delivered > this.lastDelivery) {
        this.fail(new Error(`JetStream delivered ${delivered}, ${this.lastDelivery} arrived: the consumer lost its place`))
      }
      return
    }
    // A pull ran out of time (408) or bytes, completed, or a new leader dropped it (409).
    if (code === 404 || code === 408 || (code === 409 && /max ?bytes|batch completed|leadership/i.test(description))) {
      this.pending -= Number(message.headers?.get(JsHeaders.PendingMessagesHdr) ?? 0)
      return this.handlers.ended()
    }
    // Anything else (409 consumer deleted, 503 no responders, 400) is a failure.
    this.fail(new Error(`JetStream answered the pull with ${code} ${description}`))
  }

  private fail(error: Error): void {
    if (this.done) return
    this.stop()
    this.handlers.failed(error)
  }
}
