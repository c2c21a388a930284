/**
 * Provider items as frames for one subscription: each event's payload through the client's
 * projection, each position through the cursor codec.
 */
import type { ProviderItem } from '../providers/provider'
import { gapFrame, nextFrame, noHistoryFrame } from '../sse/frames'
import type { BatchRenderer } from './relay'

export interface FrameRendering {
  /** The response key of the subscription field, the `path` of per-event errors. */
  responseKey: string
  /** The ExecutionResult JSON of one event's payload text. */
  resultOf(text: string): string
  /**
   * The cursor of a provider position; of an event in a batch whose events lie from `first` to
   * `last`, when the batch is known (signed cursors then share one signature per batch).
   */
  cursorOf(position: string, first?: string, last?: string): string
  /**
   * Whether the client is told in-band that a stream has no history. EventSource (GET) can
   * listen to the event; graphql-sse's client (POST) fails a stream on any event but `next` and
   * `complete`, and would retry for ever without reading one.
   */
  noHistoryEvent: boolean
}

/** Renders one item; an event of a batch with the batch's `range` (eventRange), when it has one. */
export type ItemRenderer = (item: ProviderItem, range?: EventRange) => string

export function itemFrame({ responseKey, resultOf, cursorOf, noHistoryEvent }: FrameRendering): ItemRenderer {
  return (item, range) => {
    if (item.type === 'gap') {
      return gapFrame(item.requested === null ? null : cursorOf(item.requested), cursorOf(item.resumedFrom), item.reason)
    }
    if (item.type === 'no-history') return noHistoryEvent ? noHistoryFrame(item.names) : ''
    if (item.type === 'backlog') return ''
    const result = item.error === undefined ? resultOf(item.text) : JSON.stringify({ data: null, errors: [{ message: item.error, path: [responseKey] }] })
    const cursor = item.position === undefined ? undefined : cursorOf(item.position, range?.first, range?.last)
    if (item === lastItem && result === lastResult && cursor === lastCursor) return lastFrame
    lastFrame = nextFrame(cursor, result)
    lastItem = item
    lastResult = result
    lastCursor = cursor
    return lastFrame
  }
}

// The last event frame rendered, in four variables rather than a new object per event (a replay
// renders every event once). The streams of one route at the live end render the same item one
// after another, and their shared result and cursor memos (prepared-cache.ts, the cursor codec)
// hand each the same strings: the frame, and so its bytes, is then made once.
let lastItem: ProviderItem | undefined
let lastResult = ''
let lastCursor: string | undefined
let lastFrame = ''

/** The positions of a batch's first and last event. */
export interface EventRange {
  first: string
  last: string
}

/** The range of the events of `items` that have positions, when there are two or more of them. */
export function eventRange(items: readonly ProviderItem[]): EventRange | undefined {
  const positionOf = (item: ProviderItem) => (item.type === 'event' ? item.position : undefined)
  let first: string | undefined
  let last: string | undefined
  for (let i = 0; i < items.length && first === undefined; i++) first = positionOf(items[i]!)
  for (let i = items.length - 1; i >= 0 && last === undefined; i--) last = positionOf(items[i]!)
  return first !== undefined && last !== undefined && first !== last ? { first, last } : undefined
}

/** Every item of a batch rendered on its own, in order. */
export function plainBatchRenderer(rendering: FrameRendering): BatchRenderer {
  const render = itemFrame(rendering)
  return (items) => {
    const range = eventRange(items)
    let frames = ''
    for (const item of items) frames += render(item, range)
    return frames
  }
}
