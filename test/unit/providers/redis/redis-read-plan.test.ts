import { describe, expect, it } from 'vitest'
import { compareEntryIds, decodePositions, encodePositions, isEntryId, previousEntryId } from '../../../../src/providers/redis/redis-entry-ids'
import { planLiveRead, planResumeRead } from '../../../../src/providers/redis/redis-read-plan'
import type { StreamBounds } from '../../../../src/providers/redis/redis-replies'

const MAX = '18446744073709551615'

describe('Redis entry ids and positions', () => {
  it('accepts only canonical ms-seq ids within 64 bits', () => {
    for (const good of ['0-0', '0-1', '1700000000000-0', `${MAX}-${MAX}`]) expect(isEntryId(good)).toBe(true)
    for (const bad of ['', '1', '1-', '-1', '01-0', '1-01', '1.0', '1-0-0', `18446744073709551616-0`, ' 1-0', '1-0~', '*']) {
      expect(isEntryId(bad)).toBe(false)
    }
  })

  it('orders ids numerically, not as text', () => {
    expect(compareEntryIds('9-0', '10-0')).toBeLessThan(0)
    expect(compareEntryIds('10-2', '10-10')).toBeLessThan(0)
    expect(compareEntryIds('10-10', '10-10')).toBe(0)
    expect(compareEntryIds('11-0', '10-99')).toBeGreaterThan(0)
  })

  it('steps back to the id just before, across the ms boundary', () => {
    expect(previousEntryId('5-3')).toBe('5-2')
    expect(previousEntryId('5-0')).toBe(`4-${MAX}`)
    expect(previousEntryId('0-1')).toBe('0-0')
    expect(previousEntryId('0-0')).toBeUndefined()
  })

  it('encodes one id per key in key order and refuses other shapes', () => {
    expect(encodePositions(['1700000000000-0', '0-0'])).toBe('1700000000000-0~0-0')
    expect(decodePositions('1700000000000-0~0-0', 2)).toEqual(['1700000000000-0', '0-0'])
    expect(decodePositions('5-1', 1)).toEqual(['5-1'])
    for (const [bad, keys] of [['5-1', 2], ['5-1~6-0', 1], ['5-1~', 2], ['5-1~~6-0', 3], ['12', 1], ['', 1]] as const) {
      expect(decodePositions(bad, keys)).toBeUndefined()
    }
  })
})

describe('Redis read plans', () => {
  const bounds = (overrides: Partial<StreamBounds> = {}): StreamBounds => ({
    firstEntryId: '100-0',
    lastEntryId: '200-0',
    lastGeneratedId: '200-0',
    ...overrides,
  })

  it('starts live after the newest id ever generated', () => {
    expect(planLiveRead(bounds())).toEqual({ after: '200-0', anchored: true })
    // The newest entry was deleted: its id is still the live end, but it cannot anchor later reads.
    expect(planLiveRead(bounds({ lastEntryId: '150-0' }))).toEqual({ after: '200-0', anchored: false })
    expect(planLiveRead(undefined)).toEqual({ after: '0-0', anchored: false })
  })

  it('resumes right after a position that is still in the stream', () => {
    expect(planResumeRead('150-0', bounds())).toEqual({ after: '150-0', anchored: true })
    expect(planResumeRead('100-0', bounds())).toEqual({ after: '100-0', anchored: true })
    expect(planResumeRead('200-0', bounds())).toEqual({ after: '200-0', anchored: true })
  })

  it('reports retention when the position is older than the oldest retained entry', () => {
    expect(planResumeRead('50-0', bounds())).toEqual({ after: `99-${MAX}`, anchored: false, gap: 'retention' })
    expect(planResumeRead('0-0', bounds())).toEqual({ after: `99-${MAX}`, anchored: false, gap: 'retention' })
    // Only when the oldest entry is the very next id can nothing unread have been trimmed.
    expect(planResumeRead(`99-${MAX}`, bounds())).toEqual({ after: `99-${MAX}`, anchored: false })
    expect(planResumeRead('7-4', bounds({ firstEntryId: '7-5' }))).toEqual({ after: '7-4', anchored: false })
  })

  it('handles a stream trimmed to nothing', () => {
    const empty = bounds({ firstEntryId: undefined, lastEntryId: undefined })
    expect(planResumeRead('150-0', empty)).toEqual({ after: '200-0', anchored: false, gap: 'retention' })
    expect(planResumeRead('200-0', empty)).toEqual({ after: '200-0', anchored: false })
  })

  it('reports a position beyond the log, or on a missing key, as unknown and starts from the earliest', () => {
    expect(planResumeRead('300-0', bounds())).toEqual({ after: `99-${MAX}`, anchored: false, gap: 'unknown-position' })
    expect(planResumeRead('300-0', undefined)).toEqual({ after: '0-0', anchored: false, gap: 'unknown-position' })
    expect(planResumeRead('0-0', undefined)).toEqual({ after: '0-0', anchored: false })
  })
})
