/**
 * The variables of the stream route itself: heartbeats, retries, lifetimes, open streams, cursors, CORS, logs.
 */
import { parseCursorKeys, type CursorKey } from '../cursor/codec'
import { isLogLevel, type LogLevel } from '../log'
import { boolean, ConfigError, integer, list, seconds, type Env } from './env'

export interface ServerConfig {
  port: number
  /** Node: the port of the Prometheus `/metrics` listener, on the same address; undefined: off. */
  metricsPort: number | undefined
  heartbeatMs: number
  retryMs: number
  maxStreamMs: number
  /** Open streams a process holds at most; 0: no limit (the Node entry sets a default). */
  maxStreams: number
  cursorKeys: CursorKey[]
  corsOrigins: string[]
  /** Cross-origin pages may send cookies; CORS_ORIGINS then lists origins, never `*`. */
  corsCredentials: boolean
  logLevel: LogLevel
  /** NATS subjects that no JetStream stream captures are refused instead of served at most once. */
  requireHistory: boolean
  /** Workers: subrequests one stream (one invocation) may make; Cloudflare's Paid plan allows 10,000, Free 50. */
  maxSubrequests: number
  /** Workers: events one stream (one invocation) sends before it ends, its CPU time kept within the platform's limit. */
  maxStreamEvents: number
}

export function readServerConfig(env: Env): ServerConfig {
  return {
    port: integer(env, 'PORT', 8787, 0, 65535),
    metricsPort: metricsPort(env),
    heartbeatMs: seconds(env, 'HEARTBEAT_SECONDS', 15),
    retryMs: integer(env, 'RETRY_MS', 2000, 0, 600_000),
    maxStreamMs: seconds(env, 'MAX_STREAM_SECONDS', 3600),
    maxStreams: integer(env, 'MAX_STREAMS', 0, 0, 1_000_000),
    cursorKeys: cursorKeys(env),
    corsOrigins: corsOrigins(env),
    corsCredentials: corsCredentials(env),
    logLevel: logLevel(env),
    requireHistory: boolean(env, 'REQUIRE_HISTORY', false),
    maxSubrequests: integer(env, 'MAX_SUBREQUESTS', 10_000, 2, 10_000_000),
    maxStreamEvents: integer(env, 'MAX_STREAM_EVENTS', 1_000_000, 1, 1_000_000_000),
  }
}

function metricsPort(env: Env): number | undefined {
  if (env.METRICS_PORT === undefined || env.METRICS_PORT === '') return undefined
  const port = integer(env, 'METRICS_PORT', 0, 1, 65535)
  if (port === integer(env, 'PORT', 8787, 0, 65535)) throw new ConfigError('METRICS_PORT', `must differ from PORT (${port}): metrics have a listener of their own`)
  return port
}

function cursorKeys(env: Env): CursorKey[] {
  if (!env.CURSOR_KEYS) return []
  try {
    return parseCursorKeys(env.CURSOR_KEYS)
  } catch (error) {
    throw new ConfigError('CURSOR_KEYS', (error as Error).message)
  }
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
