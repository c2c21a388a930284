/**
 * Counts one client's deliveries against the broker's log, read back after the run.
 * Every published event carries its number `n` and its `lane`: the unit in which
 * the broker orders events (the one JetStream subject, one Redis stream key, one
 * Kafka partition). Order is promised within a lane only.
 */
export interface Delivery {
  lane: number
  n: number
}

export interface DeliveryCount {
  received: number
  /** Log entries the client never got. */
  lost: number
  /** Deliveries beyond one per log entry. */
  duplicated: number
  /** First deliveries that arrived after a later entry of the same lane. */
  reordered: number
}

/**
 * `log`: every entry in log order (an `n` may appear twice when a producer retried
 * without deduplication: both are entries, to be delivered once each).
 * `received`: the client's deliveries in arrival order.
 */
export function countDeliveries(log: readonly Delivery[], received: readonly Delivery[]): DeliveryCount {
  const key = (d: Delivery) => `${d.lane}:${d.n}`
  const expected = new Map<string, number>()
  const logIndex = new Map<string, number>()
  log.forEach((d, i) => {
    expected.set(key(d), (expected.get(key(d)) ?? 0) + 1)
    if (!logIndex.has(key(d))) logIndex.set(key(d), i)
  })
  const got = new Map<string, number>()
  const furthest = new Map<number, number>()
  let reordered = 0
  let duplicated = 0
  for (const d of received) {
    const k = key(d)
    const count = (got.get(k) ?? 0) + 1
    got.set(k, count)
    if (count > (expected.get(k) ?? 0)) duplicated++
    if (count > 1) continue
    const index = logIndex.get(k) ?? Infinity
    if (index < (furthest.get(d.lane) ?? -1)) reordered++
    else furthest.set(d.lane, index)
  }
  let lost = 0
  for (const [k, count] of expected) lost += Math.max(0, count - (got.get(k) ?? 0))
  return { received: received.length, lost, duplicated, reordered }
}
