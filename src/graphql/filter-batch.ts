/**
 * A subscription filter applied to one provider batch: the events it withholds are neither
 * rendered nor resolved through subgraphs. When the last event of a batch was withheld, its
 * position comes back as `withheldUpTo`: the relay sends it as an id-only frame, and EventSource
 * remembers it without dispatching an event, so a resume neither reads the withheld events again
 * nor skips one that passed. None when a delivered event (with its own id) follows the last
 * withheld one, so at most one such frame per batch.
 */
import type { ProviderItem } from '../providers/provider'
import { evaluateFilter, type FilterCondition } from './subscription-filter'

export interface FilteredBatch {
  items: ProviderItem[]
  /** The position of the batch's last event, when the filter withheld it. */
  withheldUpTo: string | undefined
}

export function filterBatch(filter: FilterCondition, argumentsAsSent: Readonly<Record<string, unknown>>): (items: readonly ProviderItem[]) => FilteredBatch {
  return (batch) => {
    const items: ProviderItem[] = []
    let withheldUpTo: string | undefined
    for (const item of batch) {
      if (item.type !== 'event') {
        items.push(item)
        continue
      }
      const outcome = evaluateFilter(filter, item.error === undefined ? parsePayload(item.text) : undefined, argumentsAsSent)
      if (outcome === 'skip') {
        // An at-most-once event has no position: nothing to move.
        if (item.position !== undefined) withheldUpTo = item.position
        continue
      }
      withheldUpTo = undefined
      items.push(outcome === 'deliver' ? item : { ...item, error: outcome.error })
    }
    return { items, withheldUpTo }
  }
}

function parsePayload(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}
