/**
 * A Kafka position is the whole vector {topic -> {partition -> next offset}},
 * because EventSource returns only the last event id it saw.
 *
 * Text form: one group per topic in the route's topic order, groups separated by
 * `~`; inside a group, the next offset of partitions 0, 1, 2, … in base 36,
 * separated by `_`. `a_0_1k~5` means: first topic, partition 0 continues at offset
 * 10, partition 1 at 0, partition 2 at 56; second topic, partition 0 at 5.
 * Topic names stay out of it: the cursor's subscription binding already covers them.
 */
import { compareComponentwise, type ComparePositions } from '../shared/position-order'

export type OffsetVector = number[][]

const NUMBER = '(?:0|[1-9a-z][0-9a-z]{0,10})'
const GROUP = `${NUMBER}(?:_${NUMBER})*`
const POSITION = new RegExp(`^${GROUP}(?:~${GROUP})*$`)

export function isKafkaPosition(position: string): boolean {
  return POSITION.test(position) && position.split(/[~_]/).every((n) => parseInt(n, 36) <= Number.MAX_SAFE_INTEGER)
}

export function decodePosition(position: string): OffsetVector {
  return position.split('~').map((group) => group.split('_').map((n) => parseInt(n, 36)))
}

export function encodePosition(vector: OffsetVector): string {
  return vector.map(encodeGroup).join('~')
}

export function encodeGroup(offsets: readonly number[]): string {
  return offsets.map(encodeOffset).join('_')
}

export const encodeOffset = (offset: number): string => offset.toString(36)

/** Offset vectors ordered partition by partition (see position-order.ts); different partition counts are unordered. */
export const compareKafkaPositions: ComparePositions = (a, b) => {
  const [x, y] = [decodePosition(a), decodePosition(b)]
  return compareComponentwise(x, y, (groupX, groupY) => compareComponentwise(groupX, groupY, (offsetX, offsetY) => offsetX - offsetY))
}
