/**
 * The stream's life in the log, as relay hooks: positions and counts only, never a payload or
 * a credential. The `stream.close` line sums the stream up (events, characters, gaps, resume
 * depth, first-event and delivery delays): where there is no metrics endpoint (Workers), these
 * are the metrics, for Workers Logs and Analytics to aggregate.
 */
import type { Logger } from '../log'
import { providerKey, type ResolvedRoute, type StartPosition } from '../providers/provider'
import type { RelayHooks, RelayStream } from './relay'

/** What the close line sums up, kept per batch (never per event). */
interface Tally {
  chars: number
  gaps: number
  /** Events between the start and the head of the log when the read began, where the broker said. */
  backlog: number | undefined
  /** Backlog events not yet sent: their delay is their age, not the relay's. */
  backlogLeft: number
  firstEventMs: number | undefined
  /** The largest delay from the broker storing an event to its frame being written, sampled on each batch's newest event. */
  maxDelayMs: number | undefined
}

/** `hostOf`: the broker host(s) of a route's provider, without credentials, for the upstream error line. */
export function streamLog(log: Logger, hostOf: (route: ResolvedRoute) => string | undefined = () => undefined): RelayHooks {
  const tallies = new WeakMap<RelayStream, Tally>()
  const tallyOf = (stream: RelayStream): Tally => {
    let tally = tallies.get(stream)
    if (!tally) {
      tally = { chars: 0, gaps: 0, backlog: undefined, backlogLeft: 0, firstEventMs: undefined, maxDelayMs: undefined }
      tallies.set(stream, tally)
    }
    return tally
  }
  return {
    onOpen(stream) {
      log('info', 'stream.open', {
        streamId: stream.id,
        field: stream.field,
        route: stream.route.names,
        start: describeStart(stream.start),
        resume: stream.start.from === 'after',
      })
    },
    onBatch(stream, { events, gaps, bytes, items }) {
      const tally = tallyOf(stream)
      tally.chars += bytes
      tally.gaps += gaps.length
      for (const gap of gaps) {
        log('warn', 'stream.gap', { streamId: stream.id, reason: gap.reason, requested: gap.requested, resumedFrom: gap.resumedFrom })
      }
      const first = items[0]
      if (first?.type === 'backlog') tally.backlog = tally.backlogLeft = first.events
      if (events === 0) return
      tally.firstEventMs ??= Date.now() - stream.openedAt
      tally.backlogLeft -= events
      const newest = items[items.length - 1]
      if (tally.backlogLeft < 0 && newest?.type === 'event' && newest.publishedAt !== undefined) {
        tally.maxDelayMs = Math.max(tally.maxDelayMs ?? 0, Date.now() - newest.publishedAt)
      }
    },
    onNoHistory(stream, { names }) {
      log('warn', 'stream.no_history', { streamId: stream.id, subjects: names, delivery: 'at-most-once' })
    },
    onRefused(stream, error) {
      log('warn', 'stream.refused', { streamId: stream.id, code: error.code, error: error.message })
    },
    onUpstreamError(stream, error) {
      const host = hostOf(stream.route)
      log('error', 'stream.upstream_error', {
        streamId: stream.id,
        provider: providerKey(stream.route.kind, stream.route.providerId),
        ...(host === undefined ? {} : { host }),
        error: String(error),
      })
    },
    onClose(stream, reason) {
      const tally = tallyOf(stream)
      tallies.delete(stream)
      log('info', 'stream.close', {
        streamId: stream.id,
        field: stream.field,
        provider: providerKey(stream.route.kind, stream.route.providerId),
        reason,
        events: stream.events,
        chars: tally.chars,
        gaps: tally.gaps,
        lastSent: stream.lastPosition,
        durationMs: Date.now() - stream.openedAt,
        ...(stream.start.from === 'after' && tally.backlog !== undefined ? { resumeDepth: tally.backlog } : {}),
        ...(tally.firstEventMs === undefined ? {} : { firstEventMs: tally.firstEventMs }),
        ...(tally.maxDelayMs === undefined ? {} : { maxDelayMs: tally.maxDelayMs }),
      })
    },
  }
}

function describeStart(start: StartPosition): string {
  return start.from === 'after' ? `after ${start.position}` : start.from
}
