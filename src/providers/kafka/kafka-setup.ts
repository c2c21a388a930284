import { ConfigError, envId, type Env } from '../../config'
import type { KafkaLog } from './kafka-log'
import { KafkaProvider } from './kafka-provider'
import { RedpandaProxyLog } from './redpanda-proxy'
import { UpstashRestLog } from './upstash-rest'

export type KafkaAdapter = 'redpanda' | 'upstash'

export interface KafkaSettings {
  url: string
  adapter: KafkaAdapter
  username?: string
  password?: string
  pollTimeoutMs: number
  maxBytes: number
  requestTimeoutMs: number
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
    pollTimeoutMs: wholeNumber(env, `${prefix}POLL_TIMEOUT_MS`, 5000, 100, 60_000),
    maxBytes: wholeNumber(env, `${prefix}MAX_BYTES`, 1_048_576, 1024, 67_108_864),
    requestTimeoutMs: wholeNumber(env, `${prefix}REQUEST_TIMEOUT_MS`, 10_000, 100, 120_000),
  }
}

export function createKafkaProvider(env: Env, providerId: string): KafkaProvider {
  const settings = kafkaSettings(env, providerId)
  const log: KafkaLog = settings.adapter === 'redpanda' ? new RedpandaProxyLog(settings) : new UpstashRestLog(settings)
  return new KafkaProvider(log, { pollTimeoutMs: settings.pollTimeoutMs })
}

function wholeNumber(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name]
  if (raw === undefined || raw === '') return fallback
  const value = Number(raw)
  if (!/^\d+$/.test(raw.trim()) || value < min || value > max) {
    throw new ConfigError(name, `must be a whole number from ${min} to ${max}, got "${raw}"`)
  }
  return value
}
