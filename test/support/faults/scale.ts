import type { FaultDurations } from './proxy-faults'

/**
 * `npm test` runs every reliability scenario short; `npm run reliability` sets
 * RELIABILITY=long for the full figures of docs/reliability.md. RELIABILITY_SEED
 * replays a run (each scenario derives its own seeds from it).
 */
export const LONG = process.env.RELIABILITY === 'long'
export const SEED = Number(process.env.RELIABILITY_SEED ?? 20_260_501)

/** Short enough that a run sees many faults, long enough to trip the function's broker timeouts. */
export const FAULT_DURATIONS: FaultDurations = { stallMs: [200, 1500], blackholeMs: [200, 1500] }

/** The short or the long value. */
export const scaled = <T>(short: T, long: T): T => (LONG ? long : short)
