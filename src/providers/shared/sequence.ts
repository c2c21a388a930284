import type { GapReason } from '../provider'
import type { ProviderItem, StartPosition } from '../provider'
import type { ComparePositions } from './position-order'

/**
 * Start-position arithmetic shared by logs addressed by one increasing sequence
 * (JetStream stream sequences, the memory log). Positions are decimal sequence
 * numbers of the last event delivered.
 */
const SEQUENCE = /^(0|[1-9][0-9]{0,15})$/

export const isSequencePosition = (position: string): boolean =>
  SEQUENCE.test(position) && Number(position) <= Number.MAX_SAFE_INTEGER

/** Sequence positions are totally ordered, numerically. */
export const compareSequencePositions: ComparePositions = (a, b) => Number(a) - Number(b)

export interface LogBounds {
  /** Sequence of the oldest retained event (last + 1 when the log is empty). */
  first: number
  /** Sequence of the newest event ever written (0 when none). */
  last: number
}

export type SequenceStart =
  | { deliver: 'new' }
  | { deliver: 'from'; sequence: number; gap?: Extract<ProviderItem, { type: 'gap' }> }

/** Where to begin reading, and the gap to report first when the requested position is gone. */
export function planSequenceStart(start: StartPosition, bounds: LogBounds): SequenceStart {
  if (start.from === 'live') return { deliver: 'new' }
  const earliest = Math.max(bounds.first, 1)
  if (start.from === 'earliest') return { deliver: 'from', sequence: earliest }
  const next = Number(start.position) + 1
  const reason: GapReason | undefined =
    next - 1 > bounds.last ? 'unknown-position' : next < bounds.first ? 'retention' : undefined
  if (!reason) return { deliver: 'from', sequence: next }
  return {
    deliver: 'from',
    sequence: earliest,
    gap: { type: 'gap', requested: start.position, resumedFrom: String(earliest - 1), reason },
  }
}
