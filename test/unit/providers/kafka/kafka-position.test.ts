import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { KafkaProvider } from '../../../../src/providers/kafka/kafka-provider'
import type { KafkaReader } from '../../../../src/providers/kafka/kafka-reader'
import { compareKafkaPositions, decodePosition, encodePosition, isKafkaPosition } from '../../../../src/providers/kafka/position'
import type { ResolvedRoute } from '../../../../src/providers/provider'

describe('Kafka positions', () => {
  it('encodes the offset vector per topic (~) and partition (_) in base 36', () => {
    expect(encodePosition([[10, 0, 56], [5]])).toBe('a_0_1k~5')
    expect(decodePosition('a_0_1k~5')).toEqual([[10, 0, 56], [5]])
    expect(encodePosition([[Number.MAX_SAFE_INTEGER]])).toBe('2gosa7pa2gv')
  })

  it('round-trips every vector and the text stays URL-safe without dots', () => {
    const vector = fc.array(fc.array(fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }), { minLength: 1, maxLength: 8 }), { minLength: 1, maxLength: 4 })
    fc.assert(
      fc.property(vector, (offsets) => {
        const text = encodePosition(offsets)
        expect(text).toMatch(/^[A-Za-z0-9_~-]+$/)
        expect(isKafkaPosition(text)).toBe(true)
        expect(decodePosition(text)).toEqual(offsets)
      }),
    )
  })

  it('refuses text it could not have written', () => {
    for (const bad of ['', '~', 'a~', '_a', 'a__b', 'A', '01', 'a.b', 'a-b', '2gosa7pa2gw', '1'.repeat(12), 'a~~b']) {
      expect(isKafkaPosition(bad), bad).toBe(false)
    }
  })

  it('accepts only one offset group per topic of the route', () => {
    const provider = new KafkaProvider({} as KafkaReader, { pollTimeoutMs: 1000 })
    const route = (names: string[]): ResolvedRoute => ({ kind: 'kafka', providerId: 'default', names })
    expect(provider.isValidPosition('1_2~3', route(['a', 'b']))).toBe(true)
    expect(provider.isValidPosition('1_2', route(['a', 'b']))).toBe(false)
    expect(provider.isValidPosition('1_2~3', route(['a']))).toBe(false)
  })

  it('orders vectors partition by partition: before or after only when every offset agrees', () => {
    expect(compareKafkaPositions('a_5~3', 'a_5~3')).toBe(0)
    expect(compareKafkaPositions('a_5~3', 'a_6~3')).toBeLessThan(0)
    expect(compareKafkaPositions('b_6~4', 'a_5~3')).toBeGreaterThan(0)
    expect(compareKafkaPositions('b_5~3', 'a_6~3')).toBeNaN()
    // A partition more (added while reading) or a topic more: no order.
    expect(compareKafkaPositions('a_5_0~3', 'a_5~3')).toBeNaN()
    expect(compareKafkaPositions('a_5', 'a_5~3')).toBeNaN()
  })
})
