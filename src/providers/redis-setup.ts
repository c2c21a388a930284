import { ConfigError, envId, type Env } from '../config/env'
import { RedisStreamsProvider } from './redis/redis-streams-provider'
import type { UpstashClientFactory, UpstashSettings } from './redis/upstash-client'

// @upstash/redis refuses other URLs when a request is made; checked here so the start fails instead.
const REST_URL = /^https?:\/\/[^\s#$./?].\S*$/

/** `REDIS_<ID>_URL` and `REDIS_<ID>_TOKEN`: the REST endpoint and token of the Redis provider `providerId`. */
export function redisSettings(env: Env, providerId: string): UpstashSettings {
  const prefix = `REDIS_${envId(providerId)}_`
  const url = env[`${prefix}URL`]
  const token = env[`${prefix}TOKEN`]
  if (!url) throw new ConfigError(`${prefix}URL`, `is required by the schema's Redis provider "${providerId}"`)
  if (!REST_URL.test(url)) throw new ConfigError(`${prefix}URL`, 'must be the http:// or https:// REST URL of the Redis database (Upstash or compatible)')
  if (!token) throw new ConfigError(`${prefix}TOKEN`, `is required: the REST token of ${prefix}URL`)
  return { url, token }
}

/** `REDIS_<ID>_BLOCK_MS` and `REDIS_<ID>_REQUEST_TIMEOUT_MS`: see RedisStreamsOptions. */
export function createRedisStreamsProvider(env: Env, providerId: string, client: UpstashClientFactory | undefined): RedisStreamsProvider {
  const settings = redisSettings(env, providerId)
  const prefix = `REDIS_${envId(providerId)}_`
  const blockMs = milliseconds(env, `${prefix}BLOCK_MS`, 10_000)
  const requestTimeoutMs = milliseconds(env, `${prefix}REQUEST_TIMEOUT_MS`, 10_000)
  if (!client) throw new Error('this runtime entry passes no Upstash client to the setup (Platform.upstashClient)')
  return new RedisStreamsProvider((signal) => client(settings, signal), { blockMs, requestTimeoutMs })
}

function milliseconds(env: Env, name: string, fallback: number): number {
  const raw = env[name]
  if (raw === undefined || raw === '') return fallback
  if (!/^\d+$/.test(raw.trim()) || Number(raw) < 100 || Number(raw) > 120_000) {
    throw new ConfigError(name, `must be a whole number of milliseconds from 100 to 120000, got "${raw}"`)
  }
  return Number(raw)
}
