/**
 * The settings of each broker provider the schema names, by EDFS `providerId`:
 * `NATS_<ID>_*`, `KAFKA_<ID>_*`, `REDIS_<ID>_*` (see envId for how an id becomes `<ID>`).
 */
import type { KafkaSettings } from '../providers/kafka/kafka-setup'
import type { NatsSettings } from '../providers/nats/nats-connection'
import type { RedisSettings } from '../providers/redis/upstash-client'
import { ConfigError, envId, integer, list, type Env } from './env'

/** The NATS provider `providerId`, or undefined when `NATS_<ID>_URL` is not set. */
export function natsSettings(env: Env, providerId: string): NatsSettings | undefined {
  const prefix = `NATS_${envId(providerId)}_`
  const url = env[`${prefix}URL`]
  if (!url) return undefined
  // Several URLs: the servers of one cluster, as nats.js takes them; a connection goes to any that answers.
  if (url === 'memory:') return { servers: [url] }
  const servers = list(url)
  if (servers.length === 0 || servers.some((server) => !/^wss?:\/\/[^\s,]+$/.test(server))) {
    throw new ConfigError(`${prefix}URL`, 'must be a ws:// or wss:// URL of a NATS WebSocket listener (or several, comma-separated, of one cluster), or memory:')
  }
  const token = env[`${prefix}TOKEN`]
  const user = env[`${prefix}USER`]
  const pass = env[`${prefix}PASS`]
  if ((user === undefined) !== (pass === undefined)) {
    throw new ConfigError(user === undefined ? `${prefix}USER` : `${prefix}PASS`, 'USER and PASS go together')
  }
  return { servers, ...(token ? { token } : {}), ...(user && pass ? { user, pass } : {}) }
}

const HTTP_URL = /^https?:\/\/[^\s/?#]+[^\s]*$/

/**
 * `KAFKA_<ID>_URL`, `_ADAPTER` (redpanda | upstash), `_USERNAME` / `_PASSWORD`,
 * `_POLL_TIMEOUT_MS`, `_MAX_BYTES`, `_REQUEST_TIMEOUT_MS` of the Kafka provider `providerId`.
 */
export function kafkaSettings(env: Env, providerId: string): KafkaSettings {
  const prefix = `KAFKA_${envId(providerId)}_`
  const url = env[`${prefix}URL`]
  if (!url) throw new ConfigError(`${prefix}URL`, `is required by the schema's Kafka provider "${providerId}"`)
  if (!HTTP_URL.test(url)) throw new ConfigError(`${prefix}URL`, 'must be the http:// or https:// URL of a Redpanda HTTP Proxy or an Upstash-compatible Kafka REST endpoint')
  const adapter = env[`${prefix}ADAPTER`] || 'redpanda'
  if (adapter !== 'redpanda' && adapter !== 'upstash') {
    throw new ConfigError(`${prefix}ADAPTER`, `must be redpanda or upstash, got "${adapter}"`)
  }
  const username = env[`${prefix}USERNAME`]
  const password = env[`${prefix}PASSWORD`]
  if ((username === undefined) !== (password === undefined)) {
    throw new ConfigError(username === undefined ? `${prefix}USERNAME` : `${prefix}PASSWORD`, 'USERNAME and PASSWORD go together')
  }
  return {
    url,
    adapter,
    ...(username === undefined ? {} : { username, password: password ?? '' }),
    pollTimeoutMs: integer(env, `${prefix}POLL_TIMEOUT_MS`, 5000, 100, 60_000),
    maxBytes: integer(env, `${prefix}MAX_BYTES`, 1_048_576, 1024, 67_108_864),
    requestTimeoutMs: integer(env, `${prefix}REQUEST_TIMEOUT_MS`, 10_000, 100, 120_000),
  }
}

// @upstash/redis refuses other URLs when a request is made; checked here so the start fails instead.
const REST_URL = /^https?:\/\/[^\s#$./?].\S*$/

/** `REDIS_<ID>_URL`, `_TOKEN`, `_BLOCK_MS` and `_REQUEST_TIMEOUT_MS` of the Redis provider `providerId`. */
export function redisSettings(env: Env, providerId: string): RedisSettings {
  const prefix = `REDIS_${envId(providerId)}_`
  const url = env[`${prefix}URL`]
  const token = env[`${prefix}TOKEN`]
  if (!url) throw new ConfigError(`${prefix}URL`, `is required by the schema's Redis provider "${providerId}"`)
  if (!REST_URL.test(url)) throw new ConfigError(`${prefix}URL`, 'must be the http:// or https:// REST URL of the Redis database (Upstash or compatible)')
  if (!token) throw new ConfigError(`${prefix}TOKEN`, `is required: the REST token of ${prefix}URL`)
  return {
    url,
    token,
    blockMs: integer(env, `${prefix}BLOCK_MS`, 10_000, 100, 120_000, 'milliseconds'),
    requestTimeoutMs: integer(env, `${prefix}REQUEST_TIMEOUT_MS`, 10_000, 100, 120_000, 'milliseconds'),
  }
}
