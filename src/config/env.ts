/**
 * The primitives every configuration reader shares: the environment's shape, the one error a
 * bad value raises (naming the variable), and the parsers of whole numbers, durations, booleans
 * and lists. Nothing here knows a variable's meaning; the readers beside this file do.
 */

/** Environment variables or wrangler vars. */
export type Env = Record<string, string | undefined>

/** A bad configuration value: the message names the variable (or the file). */
export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    problem: string,
  ) {
    super(`${variable}: ${problem}`)
    this.name = 'ConfigError'
  }
}

/** `NATS_<ID>_…` etc.: the provider id upper-cased, every other character as `_`. */
export function envId(providerId: string): string {
  return providerId.toUpperCase().replace(/[^A-Z0-9]/g, '_')
}

/** A whole number from `min` to `max`; `unit` ("milliseconds") only words the message. */
export function integer(env: Env, name: string, fallback: number, min: number, max: number, unit?: string): number {
  const raw = env[name]
  if (raw === undefined || raw === '') return fallback
  const value = Number(raw)
  if (!/^\d+$/.test(raw.trim()) || value < min || value > max) {
    throw new ConfigError(name, `must be a whole number${unit ? ` of ${unit}` : ''} from ${min} to ${max}, got "${raw}"`)
  }
  return value
}

/** A positive number of seconds (fractions allowed), returned in milliseconds. */
export function seconds(env: Env, name: string, fallback: number): number {
  const raw = env[name]
  if (raw === undefined || raw === '') return fallback * 1000
  const value = Number(raw)
  if (!Number.isFinite(value) || value <= 0 || value > 86_400) {
    throw new ConfigError(name, `must be a number of seconds above 0 and at most 86400, got "${raw}"`)
  }
  return Math.round(value * 1000)
}

export function boolean(env: Env, name: string, fallback: boolean): boolean {
  const raw = env[name]
  if (raw === undefined || raw === '') return fallback
  if (raw === 'true' || raw === 'false') return raw === 'true'
  throw new ConfigError(name, `must be true or false, got "${raw}"`)
}

/** A comma-separated list, items trimmed, empty items dropped. */
export function list(raw: string | undefined): string[] {
  return (raw ?? '')
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean)
}
