import { parseCursorKeys, type CursorKey } from '../cursor/codec'
import { demoSchema } from '../demo/schema'
import { isLogLevel, type LogLevel } from '../log'

/** Environment variables or wrangler vars. */
export type Env = Record<string, string | undefined>

/** A bad configuration value: the message names the variable. */
export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    problem: string,
  ) {
    super(`${variable}: ${problem}`)
    this.name = 'ConfigError'
  }
}

export interface Config {
  port: number
  heartbeatMs: number
  retryMs: number
  maxStreamMs: number
  cursorKeys: CursorKey[]
  corsOrigins: string[]
  /** Cross-origin pages may send cookies; CORS_ORIGINS then lists origins, never `*`. */
  corsCredentials: boolean
  logLevel: LogLevel
  /** NATS subjects that no JetStream stream captures are refused instead of served at most once. */
  requireHistory: boolean
  /** The SDL and where it came from; `demo` also means the demo ticker and page. */
  schema: { sdl: string; source: 'SCHEMA' | 'SCHEMA_PATH' | 'demo' }
}

/** Reads and checks every variable; throws one ConfigError naming the first bad one. */
export function readConfig(env: Env, readFile?: (path: string) => string): Config {
  return {
    port: integer(env, 'PORT', 8787, 0, 65535),
    heartbeatMs: seconds(env, 'HEARTBEAT_SECONDS', 15),
    retryMs: integer(env, 'RETRY_MS', 2000, 0, 600_000),
    maxStreamMs: seconds(env, 'MAX_STREAM_SECONDS', 3600),
    cursorKeys: cursorKeys(env),
    corsOrigins: corsOrigins(env),
    corsCredentials: corsCredentials(env),
    logLevel: logLevel(env),
    requireHistory: boolean(env, 'REQUIRE_HISTORY', false),
    schema: schemaSource(env, readFile),
  }
}

/** `NATS_<ID>_…` etc.: the provider id upper-cased, every other character as `_`. */
export function envId(providerId: string): string {
  return providerId.toUpperCase().replace(/[^A-Z0-9]/g, '_')
}

export interface NatsSettings {
  url: string
  token?: string
  user?: string
  pass?: string
}

/** The NATS provider `providerId`, or undefined when `NATS_<ID>_URL` is not set. */
export function natsSettings(env: Env, providerId: string): NatsSettings | undefined {
  const prefix = `NATS_${envId(providerId)}_`
  const url = env[`${prefix}URL`]
  if (!url) return undefined
  if (url !== 'memory:' && !/^wss?:\/\/[^\s]+$/.test(url)) {
    throw new ConfigError(`${prefix}URL`, 'must be a ws:// or wss:// URL of a NATS WebSocket listener, or memory:')
  }
  const settings: NatsSettings = { url }
  const token = env[`${prefix}TOKEN`]
  const user = env[`${prefix}USER`]
  const pass = env[`${prefix}PASS`]
  if (token) settings.token = token
  if (user) settings.user = user
  if (pass) settings.pass = pass
  if ((user === undefined) !== (pass === undefined)) {
    throw new ConfigError(user === undefined ? `${prefix}USER` : `${prefix}PASS`, 'USER and PASS go together')
  }
  return settings
}

export function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name]
  if (raw === undefined || raw === '') return fallback
  const value = Number(raw)
  if (!/^\d+$/.test(raw.trim()) || value < min || value > max) {
    throw new ConfigError(name, `must be a whole number from ${min} to ${max}, got "${raw}"`)
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

function cursorKeys(env: Env): CursorKey[] {
  if (!env.CURSOR_KEYS) return []
  try {
    return parseCursorKeys(env.CURSOR_KEYS)
  } catch (error) {
    throw new ConfigError('CURSOR_KEYS', (error as Error).message)
  }
}

export function list(raw: string | undefined): string[] {
  return (raw ?? '')
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean)
}

/** `*`, or origins as browsers send them: scheme://host[:port], no path, no trailing slash. */
function corsOrigins(env: Env): string[] {
  const origins = list(env.CORS_ORIGINS)
  const bad = origins.find((origin) => origin !== '*' && !/^https?:\/\/[^\s/?#]+$/.test(origin))
  if (bad !== undefined) throw new ConfigError('CORS_ORIGINS', `"${bad}" is not an origin (scheme://host[:port], no path or trailing slash)`)
  return origins
}

function corsCredentials(env: Env): boolean {
  const credentials = boolean(env, 'CORS_CREDENTIALS', false)
  if (credentials && (!env.CORS_ORIGINS || list(env.CORS_ORIGINS).includes('*'))) {
    throw new ConfigError('CORS_CREDENTIALS', 'needs CORS_ORIGINS to list the origins: browsers refuse credentials for "*"')
  }
  return credentials
}

function logLevel(env: Env): LogLevel {
  const raw = env.LOG_LEVEL || 'info'
  if (!isLogLevel(raw)) throw new ConfigError('LOG_LEVEL', `must be debug, info, warn, error or silent, got "${raw}"`)
  return raw
}

function schemaSource(env: Env, readFile?: (path: string) => string): Config['schema'] {
  if (env.SCHEMA) return { sdl: env.SCHEMA, source: 'SCHEMA' }
  const path = env.SCHEMA_PATH
  if (!path) return { sdl: demoSchema, source: 'demo' }
  if (!readFile) throw new ConfigError('SCHEMA_PATH', 'files cannot be read on this runtime; set SCHEMA to the SDL itself')
  try {
    return { sdl: readFile(path), source: 'SCHEMA_PATH' }
  } catch {
    throw new ConfigError('SCHEMA_PATH', `cannot read "${path}"`)
  }
}
