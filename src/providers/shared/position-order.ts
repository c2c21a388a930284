/**
 * How one position of a route stands to another, for readers that compare positions without
 * knowing their broker (LiveFanout): negative when `a` comes before `b`, 0 when they are the
 * same, positive when after, NaN when neither (a vector ahead of the other in one component and
 * behind in another, or vectors of different shapes).
 */
export type ComparePositions = (a: string, b: string) => number

/**
 * The componentwise order of two vectors (Kafka offsets per partition, Redis entry ids per key):
 * before or after only when every component agrees, the same when all are equal.
 */
export function compareComponentwise<T>(a: readonly T[], b: readonly T[], compare: (x: T, y: T) => number): number {
  if (a.length !== b.length) return NaN
  let order = 0
  for (let i = 0; i < a.length; i++) {
    const component = Math.sign(compare(a[i]!, b[i]!))
    if (Number.isNaN(component)) return NaN
    if (component === 0) continue
    if (order !== 0 && component !== order) return NaN
    order = component
  }
  return order
}
