import type { Provider, ProviderItem, ResolvedRoute, StartPosition } from '../provider'
import { compareEntryIds, compareRedisPositions, decodePositions, encodePositions, NO_ENTRY, previousEntryId } from './redis-entry-ids'
import { planLiveRead, planResumeRead, type KeyReadPlan } from './redis-read-plan'
import { parseStreamInfo, parseXRead, type StreamBounds, type StreamEntry } from './redis-replies'
import type { RedisCommand } from './upstash-client'
import { withDeadline } from '../shared/deadline'

export interface RedisStreamsOptions {
  /** Entries per key and read: the most one read holds for a slow client. */
  pageSize?: number
  /** About the most bytes one read holds: after a read of large entries, the next asks for fewer. */
  pageBytes?: number
  /** How long one blocking XREAD waits for new entries before it is renewed. */
  blockMs?: number
  /**
   * How long a command may take beyond its own blocking time. A request into a
   * silent network (a dead path, a hung proxy) would otherwise hold the stream
   * for ever while the client, fed heartbeats, waits; past this the stream ends
   * with UPSTREAM_UNAVAILABLE and the client resumes from its cursor.
   */
  requestTimeoutMs?: number
}

/** The entry field that holds the event's JSON payload. */
export const PAYLOAD_FIELD = 'data'

/**
 * Redis Streams: each resolved channel names a stream key. The position is the
 * last entry id delivered from each key (see redis-entry-ids.ts).
 *
 * Reads alternate between two kinds of XREAD over all keys at once:
 * - a *wait*: `XREAD COUNT n BLOCK ms` after each key's position. It returns as
 *   soon as any key has entries, so live events arrive within one round trip,
 *   and an idle stream costs one request per `blockMs`, never a poll loop.
 * - a *confirm*, after every batch handed to the client: the same without BLOCK,
 *   but starting one id before each key's last delivered entry, so that entry
 *   comes back first. While the client was reading, the log may have been
 *   trimmed past it; if the entry is still there, nothing after it was
 *   trimmed. If it is gone, XINFO STREAM decides whether unread entries went
 *   too, and the stream reports a `gap` instead of skipping them silently.
 * A confirm that finds nothing new is followed by a wait. Backpressure: a confirm is
 * sent when a batch is handed over, and the read after it only when the consumer asks
 * for the next batch, so a stream holds at most one batch beyond the one being written.
 *
 * Several keys are merged fairly (COUNT is per key, so a busy key cannot starve
 * a quiet one) and in entry-id order within each read; each key keeps its order.
 */
export class RedisStreamsProvider implements Provider {
  readonly comparePositions = compareRedisPositions
  private readonly pageSize: number
  private readonly pageBytes: number
  private readonly blockMs: number
  private readonly requestTimeoutMs: number

  constructor(
    private readonly connect: (signal: AbortSignal) => RedisCommand,
    options: RedisStreamsOptions = {},
  ) {
    this.pageSize = options.pageSize ?? 1000
    this.pageBytes = options.pageBytes ?? 1024 * 1024
    this.blockMs = options.blockMs ?? 10_000
    this.requestTimeoutMs = options.requestTimeoutMs ?? 10_000
  }

  isValidPosition(position: string, route: ResolvedRoute): boolean {
    return decodePositions(position, route.names.length) !== undefined
  }

  async *open(route: ResolvedRoute, start: StartPosition, signal: AbortSignal): AsyncIterable<ProviderItem[]> {
    const redis = withDeadlines(this.connect(signal), this.requestTimeoutMs, this.blockMs)
    const keys = route.names
    const keyIndex = new Map(keys.map((key, index) => [key, index]))
    const positions = start.from === 'after' ? decodePositions(start.position, keys.length) : keys.map(() => NO_ENTRY)
    // The app admits only positions that isValidPosition accepted for this route.
    if (!positions) throw new Error(`a position of ${keys.length} entry ids was expected`)
    const anchored = keys.map(() => false)
    // Gaps found at the start leave with the first read's events, in the same chunk.
    let pending: ProviderItem[] = []

    if (start.from !== 'earliest') {
      const bounds = await Promise.all(keys.map((key) => streamBounds(redis, key, signal)))
      if (signal.aborted) return
      bounds.forEach((keyBounds, i) => {
        const plan = start.from === 'live' ? planLiveRead(keyBounds) : planResumeRead(positions[i]!, keyBounds)
        const gap = applyPlan(positions, anchored, i, plan)
        if (gap) pending.push(gap)
      })
    }

    let confirming = false
    // Entries per key of the next read (COUNT): the page size, or fewer once entries are known to be large.
    let count = this.pageSize
    const read = () => {
      const ids = positions.map((id, i) => (confirming && anchored[i] ? previousEntryId(id)! : id))
      return redis(xread(keys, ids, count + (confirming ? 1 : 0), confirming ? undefined : this.blockMs))
    }
    let ahead: Promise<unknown> | undefined
    while (!signal.aborted) {
      const reply = await (ahead ?? read())
      ahead = undefined
      if (signal.aborted) return
      const perKey = parseXRead(reply, keyIndex)
      const batch = pending
      pending = []
      const fresh: { key: number; entry: StreamEntry }[] = []
      for (let i = 0; i < keys.length; i++) {
        const entries = perKey[i]!
        let first = 0
        if (confirming && anchored[i]) {
          if (entries[0]?.id === positions[i]) {
            first = 1
          } else {
            // The last delivered entry is gone: find out whether unread entries went with it,
            // then read this key again from where the plan says (its entries here are dropped).
            const bounds = await streamBounds(redis, keys[i]!, signal)
            if (signal.aborted) return
            const gap = applyPlan(positions, anchored, i, { ...planResumeRead(positions[i]!, bounds), anchored: false })
            if (gap) batch.push(gap)
            continue
          }
        }
        // COUNT had room for the anchor on every key: keep each to one page.
        const end = Math.min(entries.length, first + count)
        for (let j = first; j < end; j++) fresh.push({ key: i, entry: entries[j]! })
      }
      fresh.sort((a, b) => compareEntryIds(a.entry.id, b.entry.id) || a.key - b.key)
      for (const { key, entry } of fresh) {
        positions[key] = entry.id
        anchored[key] = true
        batch.push(eventItem(entry, encodePositions(positions)))
      }
      if (fresh.length > 0) count = this.entriesPerRead(fresh, keys.length)
      confirming = batch.length > 0
      if (confirming) {
        // The confirm goes out while this batch is rendered and written, not after: its round
        // trip overlaps ours (replay throughput). One read ahead at most, so backpressure holds.
        ahead = read()
        ahead.catch(() => {}) // awaited at the top of the loop; a stream that ends first leaves it
        yield batch
      }
    }
  }

  /** As many entries per key as fit `pageBytes` at the size of those just read, within 1 and `pageSize`. */
  private entriesPerRead(read: { entry: StreamEntry }[], keyCount: number): number {
    let bytes = 0
    for (const { entry } of read) for (const field of entry.fields ?? []) bytes += typeof field === 'string' ? field.length : 0
    const perEntry = Math.max(1, bytes / read.length)
    return Math.max(1, Math.min(this.pageSize, Math.floor(this.pageBytes / (perEntry * keyCount))))
  }
}

/**
 * Each command fails once its blocking time plus `timeoutMs` has passed. The request
 * left behind is cancelled with the stream: the failure ends it, which aborts the signal
 * the client is bound to; an aborted request resolves, so a stream that ends stops cleanly.
 */
function withDeadlines(redis: RedisCommand, timeoutMs: number, blockMs: number): RedisCommand {
  return (args) => withDeadline(`Redis ${args[0]}`, timeoutMs + (args.includes('BLOCK') ? blockMs : 0), undefined, () => redis(args))
}

function xread(keys: string[], ids: string[], count: number, blockMs: number | undefined): [string, ...string[]] {
  const block = blockMs === undefined ? [] : ['BLOCK', String(blockMs)]
  return ['XREAD', 'COUNT', String(count), ...block, 'STREAMS', ...keys, ...ids]
}

/** The stream's bounds, or undefined when the key does not exist. */
async function streamBounds(redis: RedisCommand, key: string, signal: AbortSignal): Promise<StreamBounds | undefined> {
  let reply: unknown
  try {
    reply = await redis(['XINFO', 'STREAM', key])
  } catch (error) {
    if (/no such key/i.test(String(error))) return undefined
    throw error
  }
  // An aborted request resolves with a placeholder instead of a reply (@upstash/redis does so).
  return signal.aborted ? undefined : parseStreamInfo(reply)
}

/** Moves key `i` to its plan's position and returns the gap to report, if any. */
function applyPlan(positions: string[], anchored: boolean[], i: number, plan: KeyReadPlan): ProviderItem | undefined {
  const requested = encodePositions(positions)
  positions[i] = plan.after
  anchored[i] = plan.anchored
  return plan.gap && { type: 'gap', requested, resumedFrom: encodePositions(positions), reason: plan.gap }
}

function eventItem(entry: StreamEntry, position: string): ProviderItem {
  const fields = entry.fields ?? []
  for (let i = 0; i + 1 < fields.length; i += 2) {
    if (fields[i] === PAYLOAD_FIELD && typeof fields[i + 1] === 'string') {
      // An id XADD chose (`*`) starts with the milliseconds at which Redis stored the entry.
      return { type: 'event', position, text: fields[i + 1] as string, publishedAt: Number(entry.id.slice(0, entry.id.indexOf('-'))) }
    }
  }
  return { type: 'event', position, text: '', error: `Redis stream entry ${entry.id} has no "${PAYLOAD_FIELD}" field` }
}
