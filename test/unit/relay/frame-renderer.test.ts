import { describe, expect, it } from 'vitest'
import { CursorCodec, parseCursorKeys, subscriptionBinding } from '../../../src/cursor/codec'
import type { ProviderItem } from '../../../src/providers/provider'
import { eventRange, plainBatchRenderer } from '../../../src/relay/frame-renderer'

const event = (position: string | undefined, n: number): ProviderItem => ({ type: 'event', position, text: JSON.stringify({ n }) })
const gap: ProviderItem = { type: 'gap', requested: '2', resumedFrom: '4', reason: 'retention' }

describe('eventRange', () => {
  it('spans the first and the last event with a position, whatever surrounds them', () => {
    expect(eventRange([gap, event(undefined, 0), event('5', 1), event('7', 2), event('9', 3), event(undefined, 4)])).toEqual({ first: '5', last: '9' })
  })

  it('is none for a batch of one positioned event, or of none', () => {
    expect(eventRange([gap, event('5', 1)])).toBeUndefined()
    expect(eventRange([event(undefined, 1), event(undefined, 2)])).toBeUndefined()
    expect(eventRange([])).toBeUndefined()
  })
})

describe('plainBatchRenderer', () => {
  it("gives a batch's events ids that carry its range, and a gap its own signed cursors", () => {
    const binding = subscriptionBinding(['nats', 'default', '', 'x'])
    const codec = new CursorCodec(parseCursorKeys('k:0123456789abcdef-render'))
    const render = plainBatchRenderer({
      responseKey: 'events',
      resultOf: (text) => JSON.stringify({ data: { events: JSON.parse(text) } }),
      cursorOf: (position, first, last) => codec.encode(binding, position, first, last),
      noHistoryEvent: true,
    })
    const frames = render([gap, event('5', 1), event('6', 2)], new AbortController().signal) as string
    const ids = [...frames.matchAll(/^id: (.*)$/gm)].map(([, id]) => id!)
    expect(ids).toHaveLength(2)
    for (const [i, id] of ids.entries()) expect(id).toBe(codec.encode(binding, String(5 + i), '5', '6'))
    expect(ids[0]!.split('.')).toHaveLength(7)
    const gapData = JSON.parse(/^event: gap\ndata: (.*)$/m.exec(frames)![1]!)
    expect(gapData).toEqual({ requested: codec.encode(binding, '2'), resumedFrom: codec.encode(binding, '4'), reason: 'retention' })
    expect(gapData.requested.split('.')).toHaveLength(5)
  })
})
