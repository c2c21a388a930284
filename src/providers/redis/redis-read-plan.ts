import type { GapReason } from '../provider'
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
 * - Before the oldest retained entry: a `retention` gap, continue from the
 *   earliest entry. Redis keeps no trace of trimmed entries (`max-deleted-entry-id`
 *   counts XDEL only), so when the position itself was trimmed it cannot tell
 *   whether unread entries went with it: the gap is reported unless the oldest
 *   entry is the position's immediate successor id. A false alarm, never a
 *   silent skip.
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
    return position === earliest ? { after: position, anchored: false } : { after: earliest, anchored: false, gap: 'retention' }
  }
  return { after: position, anchored: true }
}
