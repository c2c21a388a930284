import { describe, expect, it } from 'vitest'
import { countDeliveries, type Delivery } from '../../../support/faults/delivery-count'

const lane0 = (...ns: number[]): Delivery[] => ns.map((n) => ({ lane: 0, n }))

describe('countDeliveries, which the reliability figures rest on', () => {
  const log = lane0(1, 2, 3, 4, 5)

  it('counts nothing amiss when every entry arrives once, in order', () => {
    expect(countDeliveries(log, lane0(1, 2, 3, 4, 5))).toEqual({ received: 5, lost: 0, duplicated: 0, reordered: 0 })
  })

  it('counts entries that never arrived as lost, and extra arrivals as duplicates', () => {
    expect(countDeliveries(log, lane0(1, 2, 2, 5, 5, 5))).toEqual({ received: 6, lost: 2, duplicated: 3, reordered: 0 })
  })

  it('counts a first arrival after a later entry of its lane as reordered', () => {
    expect(countDeliveries(log, lane0(1, 3, 2, 4, 5))).toMatchObject({ lost: 0, reordered: 1 })
    expect(countDeliveries(log, lane0(5, 1, 2, 3, 4))).toMatchObject({ lost: 0, reordered: 4 })
  })

  it('promises order within a lane only', () => {
    const twoLanes: Delivery[] = [
      { lane: 0, n: 1 },
      { lane: 1, n: 2 },
      { lane: 0, n: 3 },
    ]
    expect(countDeliveries(twoLanes, [twoLanes[1]!, twoLanes[0]!, twoLanes[2]!])).toMatchObject({ lost: 0, reordered: 0 })
  })

  it('expects an entry the log holds twice (a producer retry) to arrive twice', () => {
    expect(countDeliveries(lane0(1, 2, 2, 3), lane0(1, 2, 3))).toMatchObject({ lost: 1, duplicated: 0 })
    expect(countDeliveries(lane0(1, 2, 2, 3), lane0(1, 2, 2, 3))).toMatchObject({ lost: 0, duplicated: 0 })
  })
})
