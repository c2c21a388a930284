/**
 * The stream's life in the log, as relay hooks: positions and counts only, never a payload or
 * a credential.
 */
import type { Logger } from '../log'
import type { StartPosition } from '../providers/provider'
import type { RelayHooks } from './relay'

export function streamLog(log: Logger): RelayHooks {
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
    onBatch(stream, { gaps }) {
      for (const gap of gaps) {
        log('warn', 'stream.gap', { streamId: stream.id, reason: gap.reason, requested: gap.requested, resumedFrom: gap.resumedFrom })
      }
    },
    onNoHistory(stream, { names }) {
      log('warn', 'stream.no_history', { streamId: stream.id, subjects: names, delivery: 'at-most-once' })
    },
    onRefused(stream, error) {
      log('warn', 'stream.refused', { streamId: stream.id, code: error.code, error: error.message })
    },
    onUpstreamError(stream, error) {
      log('error', 'stream.upstream_error', { streamId: stream.id, error: String(error) })
    },
    onClose(stream, reason) {
      log('info', 'stream.close', {
        streamId: stream.id,
        reason,
        events: stream.events,
        lastSent: stream.lastPosition,
        durationMs: Date.now() - stream.openedAt,
      })
    },
  }
}

function describeStart(start: StartPosition): string {
  return start.from === 'after' ? `after ${start.position}` : start.from
}
