/**
 * A subscription filter between the provider's batches and a stream's renderer: the events it
 * withholds are not rendered (nor resolved through subgraphs), and when the last event of a
 * batch was withheld, the batch ends with an id-only frame carrying its cursor. EventSource then
 * remembers that position without dispatching an event, so a resume neither reads the withheld
 * events again nor skips one that passed: at most one such frame per batch, and none when a
 * delivered event (with its own id) follows the last withheld one.
 */
import type { ProviderItem } from '../providers/provider'
import type { BatchRenderer } from '../relay/relay'
import { positionFrame } from '../sse/frames'
import { evaluateFilter, type FilterCondition } from './subscription-filter'

export function filteredBatches(
  render: BatchRenderer,
  filter: FilterCondition,
  argumentsAsSent: Readonly<Record<string, unknown>>,
  cursorOf: (position: string) => string,
): BatchRenderer {
  return (items, signal) => {
    const passed: ProviderItem[] = []
    let withheldLast: string | undefined
    for (const item of items) {
      if (item.type !== 'event') {
        passed.push(item)
        continue
      }
      const outcome = evaluateFilter(filter, item.error === undefined ? parsePayload(item.text) : undefined, argumentsAsSent)
      if (outcome === 'skip') {
        // An at-most-once event has no position: nothing to move.
        if (item.position !== undefined) withheldLast = item.position
        continue
      }
      withheldLast = undefined
      passed.push(outcome === 'deliver' ? item : { ...item, error: outcome.error })
    }
    const position = withheldLast === undefined ? '' : positionFrame(cursorOf(withheldLast))
    if (passed.length === 0) return position
    const rendered = render(passed, signal)
    return typeof rendered === 'string' ? rendered + position : rendered.then((frames) => frames + position)
  }
}

function parsePayload(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}
