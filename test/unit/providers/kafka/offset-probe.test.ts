import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { probeLogEnd, probeLogStart, ProbeFailedError } from '../../../../src/providers/kafka/offset-probe'

/** What a Kafka fetch answers about offsets: in range exactly on [start, end]. */
function partition(start: number, end: number) {
  const probed: number[] = []
  const inRange = async (offset: number) => {
    probed.push(offset)
    return offset >= start && offset <= end
  }
  return { inRange, probed }
}

describe('finding log bounds by probing', () => {
  it('finds both bounds of a log that still starts at 0', async () => {
    const log = partition(0, 1000)
    expect(await probeLogStart(log.inRange, 't/0')).toBe(0)
    expect(await probeLogEnd(log.inRange, 't/0')).toBe(1000)
    expect(log.probed.length).toBeLessThan(30)
  })

  it('finds the bounds of an empty log', async () => {
    expect(await probeLogEnd(partition(0, 0).inRange, 't/0')).toBe(0)
    expect(await probeLogStart(partition(0, 0).inRange, 't/0')).toBe(0)
  })

  it('finds the log start after retention from the position the reader was at', async () => {
    const log = partition(7_345, 7_400)
    expect(await probeLogStart(log.inRange, 't/0', 7_300)).toBe(7_345)
    expect(await probeLogEnd(log.inRange, 't/0', 7_300)).toBe(7_400)
  })

  it('finds the bounds whenever the retained range spans a power of two or the gallop from the hint', () => {
    const cases = fc
      .tuple(fc.integer({ min: 0, max: 2 ** 40 }), fc.integer({ min: 0, max: 2 ** 40 }), fc.integer({ min: 0, max: 2 ** 40 }))
      .map(([a, b, c]) => ({ start: Math.min(a, b), end: Math.max(a, b), hint: Math.min(c, Math.min(a, b)) }))
      .filter(({ start, end, hint }) => start === 0 || end >= 2 * start || end - start >= start - hint)
    return fc.assert(
      fc.asyncProperty(cases, async ({ start, end, hint }) => {
        const log = partition(start, end)
        expect(await probeLogStart(log.inRange, 't/0', hint)).toBe(start)
        expect(await probeLogEnd(log.inRange, 't/0', hint)).toBe(end)
      }),
    )
  })

  it('gives up, bounded, when no probe lands in a narrow retained range', async () => {
    const log = partition(1_100_000, 1_100_010)
    await expect(probeLogEnd(log.inRange, 't/0')).rejects.toBeInstanceOf(ProbeFailedError)
    expect(log.probed.length).toBeLessThanOrEqual(160)
  })
})
