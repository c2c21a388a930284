import { describe, expect, it } from 'vitest'
import { compareRedisPositions } from '../../../../src/providers/redis/redis-entry-ids'

describe('Redis positions', () => {
  it('orders the entry ids key by key: before or after only when every key agrees', () => {
    expect(compareRedisPositions('5-1~0-0', '5-1~0-0')).toBe(0)
    expect(compareRedisPositions('5-1~7-0', '5-2~7-0')).toBeLessThan(0)
    // Ids compare as numbers, not as text.
    expect(compareRedisPositions('10-0~7-0', '9-5~7-0')).toBeGreaterThan(0)
    expect(compareRedisPositions('10-0~6-0', '9-5~7-0')).toBeNaN()
    expect(compareRedisPositions('5-1', '5-1~0-0')).toBeNaN()
  })
})
