import { describe, expect, it } from 'vitest'
import { isSequencePosition, planSequenceStart } from '../../../../src/providers/shared/sequence'

describe('sequence start planning', () => {
  const bounds = { first: 101, last: 200 }

  it('starts live, at the log start, or right after the position', () => {
    expect(planSequenceStart({ from: 'live' }, bounds)).toEqual({ deliver: 'new' })
    expect(planSequenceStart({ from: 'earliest' }, bounds)).toEqual({ deliver: 'from', sequence: 101 })
    expect(planSequenceStart({ from: 'after', position: '150' }, bounds)).toEqual({ deliver: 'from', sequence: 151 })
    expect(planSequenceStart({ from: 'after', position: '100' }, bounds)).toEqual({ deliver: 'from', sequence: 101 })
    expect(planSequenceStart({ from: 'after', position: '200' }, bounds)).toEqual({ deliver: 'from', sequence: 201 })
  })

  it('reports a retention gap and resumes at the earliest retained event', () => {
    expect(planSequenceStart({ from: 'after', position: '50' }, bounds)).toEqual({
      deliver: 'from',
      sequence: 101,
      gap: { type: 'gap', requested: '50', resumedFrom: '100', reason: 'retention' },
    })
  })

  it('reports a position beyond the log end as unknown and resumes at the earliest', () => {
    expect(planSequenceStart({ from: 'after', position: '201' }, bounds)).toEqual({
      deliver: 'from',
      sequence: 101,
      gap: { type: 'gap', requested: '201', resumedFrom: '100', reason: 'unknown-position' },
    })
    // An empty, never-written stream (nats reports first 0, last 0).
    expect(planSequenceStart({ from: 'after', position: '5' }, { first: 0, last: 0 })).toMatchObject({
      sequence: 1,
      gap: { resumedFrom: '0', reason: 'unknown-position' },
    })
  })

  it('accepts only canonical decimal sequences', () => {
    for (const good of ['0', '1', '42', '9007199254740991']) expect(isSequencePosition(good)).toBe(true)
    for (const bad of ['', '-1', '01', '1e3', '0x10', '9007199254740992', '99999999999999999', ' 1', '1.5']) {
      expect(isSequencePosition(bad)).toBe(false)
    }
  })
})
