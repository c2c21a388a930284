import type { ProviderItem, StartPosition } from '../provider'
import { KafkaReaderRewoundError, type FetchResult, type KafkaReader, type KafkaRecord, type TopicPartition } from './kafka-reader'
import { decodePosition, encodeGroup, encodeOffset } from './position'

export interface KafkaStreamOptions {
  /** How long a fetch of an idle partition waits on the server for new records. */
  pollTimeoutMs: number
  /**
   * Fetches in flight at once. Workers allow 6 simultaneous outbound connections
   * per request; with more partitions than this, idle partitions take turns.
   */
  maxConcurrentFetches?: number
  /** Most events in one yielded batch (one chunk on the wire). */
  batchSize?: number
  /** How often the partition counts are checked for partitions added meanwhile. */
  metadataRefreshMs?: number
  /**
   * A resumed stream asks for the partitions' log ends (one more request) to say how many
   * records lie between its cursor and the head (a `backlog` item): only where metrics use it.
   */
  reportBacklog?: boolean
}

interface Partition extends TopicPartition {
  topicIndex: number
  next: number
  records: KafkaRecord[]
  taken: number
  fetching: boolean
  /** No fetch before this time: an empty answer that came back early must not become a busy loop. */
  notBefore: number
  /** The offset a fetch last found beyond the log end, not yet confirmed by a second fetch. */
  beyondEnd: number | undefined
  /** The next answer, asked for while the records before it are taken (see prefetch). */
  ahead: Request | undefined
}

interface Request {
  offset: number
  waitMs: number
  startedAt: number
  answer: Promise<FetchResult>
}

/** Records taken from one partition before the next partition gets its turn. */
const QUANTUM = 64
/** Server-side wait of idle partitions when they share the fetch slots in turns. */
const SHARED_WAIT_MS = 1000

/**
 * One subscription's read of its topics: every partition is read statelessly by
 * offset, at most one fetch per partition in flight and one answer buffered per
 * partition (that bounds memory; a new fetch starts only when the consumer has
 * taken the previous answer). Answers are interleaved round-robin, QUANTUM records
 * at a time, so a busy partition cannot starve the others and a slow or empty one
 * (its fetch waiting on the server) blocks nobody; within a partition, order is kept.
 */
export class KafkaStream {
  private readonly byTopic: Partition[][]
  private partitions: Partition[] = []
  /** Encoded offsets of each topic: only the group of the partition that moved is re-encoded. */
  private groups: string[] = []
  /** Gaps, and a resume's backlog, yielded before the next records. */
  private readonly pendingNotices: ProviderItem[] = []
  private failure: { error: unknown } | undefined
  private inflight = 0
  private fetchTurn = 0
  private takeTurn = 0
  private nextMetadataCheck: number
  private checkingMetadata = false
  private waiter: (() => void) | undefined
  private timer: ReturnType<typeof setTimeout> | undefined
  private readonly lifetime = new AbortController()
  private readonly maxConcurrentFetches: number
  private readonly batchSize: number
  private readonly metadataRefreshMs: number

  constructor(
    private readonly reader: KafkaReader,
    private readonly topics: readonly string[],
    private readonly options: KafkaStreamOptions,
  ) {
    this.byTopic = topics.map(() => [])
    this.maxConcurrentFetches = options.maxConcurrentFetches ?? 6
    this.batchSize = options.batchSize ?? 1000
    this.metadataRefreshMs = options.metadataRefreshMs ?? 60_000
    this.nextMetadataCheck = Date.now() + this.metadataRefreshMs
  }

  async *read(start: StartPosition, outer: AbortSignal): AsyncIterable<ProviderItem[]> {
    const signal = this.lifetime.signal
    const onAbort = () => {
      this.lifetime.abort()
      this.wake()
    }
    if (outer.aborted) return
    outer.addEventListener('abort', onAbort, { once: true })
    try {
      await this.begin(start, signal)
      while (!signal.aborted) {
        if (this.failure) throw this.failure.error
        if (this.pendingNotices.length > 0) {
          yield this.pendingNotices.splice(0)
          continue
        }
        this.checkMetadataWhenDue(signal)
        this.startFetches(signal)
        const batch = this.take()
        if (batch.length > 0) {
          yield batch
          continue
        }
        await this.sleep()
      }
    } finally {
      outer.removeEventListener('abort', onAbort)
      clearTimeout(this.timer)
      this.lifetime.abort()
    }
  }

  /**
   * The start vector: log end (live), log start (earliest) or the cursor's, with new
   * partitions at their log start. A resumed partition is fetched once right away
   * (no server-side wait): an offset retention deleted, or one beyond the log end,
   * shows up before any event, so one gap names exactly the cursor the client sent.
   */
  private async begin(start: StartPosition, signal: AbortSignal): Promise<void> {
    const counts = await Promise.all(this.topics.map((topic) => this.reader.partitionCount(topic, signal)))
    const all = counts.flatMap((count, topicIndex) => this.topicPartitions(topicIndex, 0, count))
    if (start.from !== 'after') {
      const offsets = await this.reader.offsets(all, start.from === 'live' ? 'end' : 'start', signal)
      all.forEach((at, i) => this.add(at, offsets[i]!))
      return
    }
    const requested = decodePosition(start.position)
    // A vector that does not fit the topics (more partitions than exist: the topic was recreated) is no position in them.
    const fits = (topicIndex: number) => requested.length === this.topics.length && requested[topicIndex]!.length <= counts[topicIndex]!
    const fresh = all.filter((at) => !fits(at.topicIndex) || at.partition >= requested[at.topicIndex]!.length)
    const starts = fresh.length > 0 ? await this.reader.offsets(fresh, 'start', signal) : []
    const resumed: Partition[] = []
    for (const at of all) {
      const freshIndex = fresh.indexOf(at)
      const partition = this.add(at, freshIndex === -1 ? requested[at.topicIndex]![at.partition]! : starts[freshIndex]!)
      if (freshIndex === -1) resumed.push(partition)
    }
    const first = await inTurns(resumed, this.maxConcurrentFetches, (partition) => this.reader.fetch(partition, partition.next, 0, signal))
    const lost = resumed.filter((partition, i) => {
      const result = first[i]!
      if ('outOfRange' in result) return true
      partition.records = result.records
      return false
    })
    const lostStarts = lost.length > 0 ? await this.reader.offsets(lost, 'start', signal, lost.map((p) => p.next)) : []
    // Beyond the log end (next >= start yet out of range) means the log was recreated, like a vector that does not fit.
    const recreated = !this.topics.every((_, topicIndex) => fits(topicIndex)) || lost.some((p, i) => p.next >= lostStarts[i]!)
    // Before any event, the one place a partition may go back: the gap names the client's cursor, nothing is sent twice on this connection.
    lost.forEach((partition, i) => this.advance(partition, lostStarts[i]!, { backwards: true }))
    if (this.options.reportBacklog) {
      const ends = await this.reader.offsets(this.partitions, 'end', signal, this.partitions.map((p) => p.next))
      const behind = this.partitions.reduce((sum, partition, i) => sum + Math.max(0, (ends[i] ?? partition.next) - partition.next), 0)
      this.pendingNotices.push({ type: 'backlog', events: behind })
    }
    if (recreated || lost.length > 0) {
      this.pendingNotices.push({ type: 'gap', requested: start.position, resumedFrom: this.position(), reason: recreated ? 'unknown-position' : 'retention' })
    }
  }

  private topicPartitions(topicIndex: number, from: number, to: number): (TopicPartition & { topicIndex: number })[] {
    const topic = this.topics[topicIndex]!
    return Array.from({ length: to - from }, (_, i) => ({ topic, partition: from + i, topicIndex }))
  }

  private add(at: TopicPartition & { topicIndex: number }, next: number): Partition {
    const partition: Partition = { ...at, next, records: [], taken: 0, fetching: false, notBefore: 0, beyondEnd: undefined, ahead: undefined }
    this.byTopic[at.topicIndex]!.push(partition)
    this.partitions = this.byTopic.flat()
    this.groups[at.topicIndex] = encodeGroup(this.byTopic[at.topicIndex]!.map((p) => p.next))
    return partition
  }

  private position(): string {
    // Every event carries the whole vector: one topic's needs no join.
    return this.groups.length === 1 ? this.groups[0]! : this.groups.join('~')
  }

  /**
   * A partition's next offset only ever moves forward within a stream: every event's
   * cursor promises that nothing up to it is sent again on this connection.
   */
  private advance(partition: Partition, next: number, allow: { backwards?: boolean } = {}): void {
    if (next < partition.next && !allow.backwards) {
      throw new Error(`Kafka stream bug: ${partition.topic}/${partition.partition} would move back from offset ${partition.next} to ${next}`)
    }
    partition.next = next
    const group = this.byTopic[partition.topicIndex]!
    // Every event moves one partition: a topic of one partition needs no array of offsets to encode.
    this.groups[partition.topicIndex] = group.length === 1 ? encodeOffset(next) : encodeGroup(group.map((p) => p.next))
  }

  private startFetches(signal: AbortSignal): void {
    const now = Date.now()
    const count = this.partitions.length
    const waitMs = count <= this.maxConcurrentFetches ? this.options.pollTimeoutMs : Math.min(this.options.pollTimeoutMs, SHARED_WAIT_MS)
    const first = this.fetchTurn
    for (let i = 0; i < count && this.inflight < this.maxConcurrentFetches; i++) {
      const index = (first + i) % count
      const partition = this.partitions[index]!
      if (partition.fetching || partition.notBefore > now) continue
      const untaken = partition.records.length - partition.taken
      if (untaken > 0) {
        if (!partition.ahead && partition.taken > 0) this.prefetch(partition, signal)
        continue
      }
      // The partition after the last one started goes first next time, so all partitions get slots in turn.
      this.fetchTurn = (index + 1) % count
      this.fetch(partition, waitMs, signal)
    }
  }

  private fetch(partition: Partition, waitMs: number, signal: AbortSignal): void {
    const ahead = partition.ahead
    partition.ahead = undefined
    // The answer asked for ahead is the one wanted now, unless a gap moved the partition meanwhile.
    const request = ahead?.offset === partition.next ? ahead : this.request(partition, partition.next, waitMs, signal)
    partition.fetching = true
    this.inflight++
    const { offset, startedAt } = request
    request.answer
      .then(async (result) => {
        if ('outOfRange' in result) return this.resume(partition, offset, startedAt + request.waitMs, signal)
        partition.beyondEnd = undefined
        // Only records the stream has not yet passed: an answer never takes a partition back.
        partition.records = partition.next === offset ? result.records : result.records.filter((record) => record.offset >= partition.next)
        partition.taken = 0
        if (partition.records.length === 0) partition.notBefore = startedAt + request.waitMs
      })
      .catch((error: unknown) => {
        this.failure ??= { error }
      })
      .finally(() => {
        partition.fetching = false
        this.inflight--
        this.wake()
      })
  }

  /**
   * Once the client has taken its first batch of a partition's answer, the next one is asked for:
   * the proxy's round trip overlaps our rendering of this one instead of following it (replay
   * throughput, bench/RESULTS.md; asked at half the answer, as before, the proxy's 47 ms for a
   * page of 9,000 records outlasted the 12 ms in which the other half was written). Asked only
   * when the client wants more, in a free fetch slot, without server-side wait, and what was
   * taken is let go: a partition holds at most two answers, so a client that stops reading
   * still stops the reads.
   */
  private prefetch(partition: Partition, signal: AbortSignal): void {
    if (this.inflight >= this.maxConcurrentFetches) return
    partition.records = partition.records.slice(partition.taken)
    partition.taken = 0
    const last = partition.records[partition.records.length - 1]!
    const request = this.request(partition, last.offset + 1, 0, signal)
    this.inflight++
    // Settled or not, its slot is free once the answer is in; a failure shows when it is taken.
    request.answer.catch(() => {}).finally(() => {
      this.inflight--
      this.wake()
    })
    partition.ahead = request
  }

  private request(partition: Partition, offset: number, waitMs: number, signal: AbortSignal): Request {
    return { offset, waitMs, startedAt: Date.now(), answer: this.reader.fetch(partition, offset, waitMs, signal) }
  }

  /**
   * The offset is out of range. Below the log start it was deleted by retention: report a
   * gap, go on at the log start (forward). At or above the log start it lies beyond the log
   * end, which this stream may well have read up to: a log end that lags what was already
   * fetched (a broker answering from a replica or failover behind the one that served the
   * records, or Upstash's empty-answer check racing the fetch) or a recreated topic. Going
   * back to the log start would send records again that this connection already delivered,
   * so the answer is only believed when the next fetch, a poll later, says the same; then
   * the stream ends (UPSTREAM_UNAVAILABLE), and the client's reconnect with its last id
   * reports the position as `unknown-position` before any event, where going back is no repeat.
   */
  private async resume(partition: Partition, offset: number, notBefore: number, signal: AbortSignal): Promise<void> {
    const [start] = await this.reader.offsets([partition], 'start', signal, [offset])
    if (offset < start!) {
      partition.beyondEnd = undefined
      const requested = this.position()
      this.advance(partition, start!)
      this.pendingNotices.push({ type: 'gap', requested, resumedFrom: this.position(), reason: 'retention' })
      return
    }
    if (partition.beyondEnd !== offset) {
      partition.beyondEnd = offset
      partition.notBefore = notBefore
      return
    }
    throw new KafkaReaderRewoundError(partition, offset, start!)
  }

  private checkMetadataWhenDue(signal: AbortSignal): void {
    if (this.checkingMetadata || Date.now() < this.nextMetadataCheck) return
    this.checkingMetadata = true
    this.addNewPartitions(signal)
      .catch((error: unknown) => {
        this.failure ??= { error }
      })
      .finally(() => {
        this.checkingMetadata = false
        this.nextMetadataCheck = Date.now() + this.metadataRefreshMs
        this.wake()
      })
  }

  /** Partitions created while reading start at their log start, like those of a resumed cursor. */
  private async addNewPartitions(signal: AbortSignal): Promise<void> {
    const counts = await Promise.all(this.topics.map((topic, i) => this.reader.partitionCount(topic, signal, this.byTopic[i]!.length)))
    const fresh = counts.flatMap((count, topicIndex) => this.topicPartitions(topicIndex, this.byTopic[topicIndex]!.length, count))
    if (fresh.length === 0) return
    const starts = await this.reader.offsets(fresh, 'start', signal)
    fresh.forEach((at, i) => this.add(at, starts[i]!))
  }

  /** Up to batchSize events, QUANTUM per partition per round, each carrying the whole vector after it. */
  private take(): ProviderItem[] {
    const batch: ProviderItem[] = []
    const count = this.partitions.length
    let progressed = true
    while (progressed && batch.length < this.batchSize) {
      progressed = false
      for (let i = 0; i < count && batch.length < this.batchSize; i++) {
        const partition = this.partitions[(this.takeTurn + i) % count]!
        const end = Math.min(partition.records.length, partition.taken + QUANTUM, partition.taken + this.batchSize - batch.length)
        for (; partition.taken < end; partition.taken++) {
          const record = partition.records[partition.taken]!
          if (record.offset < partition.next) continue
          this.advance(partition, record.offset + 1)
          batch.push(
            record.value === null
              ? { type: 'event', position: this.position(), text: '', error: `Kafka record ${partition.topic}/${partition.partition}@${record.offset} has no value (a tombstone)` }
              : { type: 'event', position: this.position(), text: record.value },
          )
          progressed = true
        }
      }
      this.takeTurn = (this.takeTurn + 1) % Math.max(count, 1)
    }
    for (const partition of this.partitions) {
      if (partition.taken > 0 && partition.taken === partition.records.length) {
        partition.records = []
        partition.taken = 0
      }
    }
    return batch
  }

  /** Until a fetch settles, the stream aborts, or the next partition or metadata check is due. */
  private sleep(): Promise<void> {
    const now = Date.now()
    let due = this.checkingMetadata ? Infinity : this.nextMetadataCheck
    for (const partition of this.partitions) {
      if (!partition.fetching && partition.notBefore > now) due = Math.min(due, partition.notBefore)
    }
    clearTimeout(this.timer)
    if (due !== Infinity) this.timer = setTimeout(() => this.wake(), Math.max(0, due - now))
    return new Promise((resolve) => {
      this.waiter = resolve
    })
  }

  private wake(): void {
    const waiter = this.waiter
    this.waiter = undefined
    waiter?.()
  }
}

/** `run` over all items, at most `limit` at a time; results in item order. */
async function inTurns<T, R>(items: readonly T[], limit: number, run: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = []
  let next = 0
  const worker = async () => {
    while (next < items.length) {
      const index = next++
      results[index] = await run(items[index]!)
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker))
  return results
}
