/**
 * Redis Stream entry ids (`<ms>-<seq>`, two unsigned 64-bit numbers) and the
 * position vector built from them: one id per stream key, in the route's key
 * order, joined with `~` (`1700000000000-0~0-0`). `0-0` means "nothing read
 * from that key yet": no entry can have it.
 */
import { compareComponentwise, type ComparePositions } from '../shared/position-order'

const PART = '(0|[1-9][0-9]{0,19})'
const ENTRY_ID = new RegExp(`^${PART}-${PART}$`)
const MAX_PART = (1n << 64n) - 1n
const SEPARATOR = '~'

export const NO_ENTRY = '0-0'

export const isEntryId = (id: string): boolean => {
  const match = ENTRY_ID.exec(id)
  return match !== null && BigInt(match[1]!) <= MAX_PART && BigInt(match[2]!) <= MAX_PART
}

/** Orders canonical decimal ids without BigInt: the per-event merge runs this often. */
export function compareEntryIds(a: string, b: string): number {
  const dashA = a.indexOf('-')
  const dashB = b.indexOf('-')
  return compareDecimal(a.slice(0, dashA), b.slice(0, dashB)) || compareDecimal(a.slice(dashA + 1), b.slice(dashB + 1))
}

function compareDecimal(a: string, b: string): number {
  if (a.length !== b.length) return a.length - b.length
  return a < b ? -1 : a > b ? 1 : 0
}

/** The id just before `id`: reading after it includes `id` itself. Undefined for `0-0`. */
export function previousEntryId(id: string): string | undefined {
  const [ms, seq] = id.split('-').map(BigInt) as [bigint, bigint]
  if (seq > 0n) return `${ms}-${seq - 1n}`
  if (ms > 0n) return `${ms - 1n}-${MAX_PART}`
  return undefined
}

export const encodePositions = (ids: readonly string[]): string => ids.join(SEPARATOR)

/** The ids of a position for `keyCount` keys, or undefined when it is not one. */
export function decodePositions(position: string, keyCount: number): string[] | undefined {
  const ids = position.split(SEPARATOR)
  return ids.length === keyCount && ids.every(isEntryId) ? ids : undefined
}

/** Positions ordered key by key (see position-order.ts). */
export const compareRedisPositions: ComparePositions = (a, b) =>
  compareComponentwise(a.split(SEPARATOR), b.split(SEPARATOR), compareEntryIds)
