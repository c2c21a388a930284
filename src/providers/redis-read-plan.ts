import type { GapReason } from '../sse/frames'
import { compareEntryIds, NO_ENTRY, previousEntryId } from './redis-entry-ids'
import type { StreamBounds } from './redis-replies'

/** Where to read one stream key from, and whether events were lost on the way. */
export interface KeyReadPlan {
  /** Read the entries after this id. */
  after: string
  /** `after` is an entry that exists: later reads include it to prove nothing after it was trimmed. */
  anchored: boolean
  gap?: GapReason
}

/** New events only: after the newest id the stream ever generated. */
export function planLiveRead(bounds: StreamBounds | undefined): KeyReadPlan {
  if (!bounds) return { after: NO_ENTRY, anchored: false }
  return { after: bounds.lastGeneratedId, anchored: bounds.lastEntryId === bounds.lastGeneratedId }
}

/**
 * Reading after `position` (the last entry a client received from this key),
 * given the stream's bounds now (undefined: the key does not exist).
 *
 * - Beyond the newest id ever generated (the stream was deleted and recreated):
 *   `unknown-position`, continue from the earliest entry.
 * - Before the oldest retained entry: a `retention` gap when an entry after the
 *   position was deleted. Redis 7+ reports the highest deleted id, which decides
 *   it exactly; without it the gap is reported whenever it cannot be ruled out.
 * - Otherwise continue after the position. Entries removed one by one with XDEL
 *   above the oldest retained entry were deleted on purpose, not lost to retention.
 */
export function planResumeRead(position: string, bounds: StreamBounds | undefined): KeyReadPlan {
  if (!bounds) {
    return position === NO_ENTRY ? { after: NO_ENTRY, anchored: false } : { after: NO_ENTRY, anchored: false, gap: 'unknown-position' }
  }
  // The position just before the earliest entry (or everything ever generated, when the stream is empty).
  const earliest = bounds.firstEntryId === undefined ? bounds.lastGeneratedId : previousEntryId(bounds.firstEntryId)!
  if (compareEntryIds(position, bounds.lastGeneratedId) > 0) return { after: earliest, anchored: false, gap: 'unknown-position' }
  if (bounds.firstEntryId === undefined || compareEntryIds(position, bounds.firstEntryId) < 0) {
    const lost =
      bounds.maxDeletedEntryId === undefined ? position !== earliest : compareEntryIds(bounds.maxDeletedEntryId, position) > 0
    return lost ? { after: earliest, anchored: false, gap: 'retention' } : { after: position, anchored: false }
  }
  return { after: position, anchored: true }
}
