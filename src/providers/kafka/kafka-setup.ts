import { ConfigError, envId, integer, type Env } from '../../config/env'
import type { KafkaReader } from './kafka-reader'
import { KafkaProvider } from './kafka-provider'
import { RedpandaProxyReader } from './redpanda-proxy'
import { UpstashRestReader } from './upstash-rest'

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
    pollTimeoutMs: integer(env, `${prefix}POLL_TIMEOUT_MS`, 5000, 100, 60_000),
    maxBytes: integer(env, `${prefix}MAX_BYTES`, 1_048_576, 1024, 67_108_864),
    requestTimeoutMs: integer(env, `${prefix}REQUEST_TIMEOUT_MS`, 10_000, 100, 120_000),
  }
}

export function createKafkaProvider(env: Env, providerId: string): KafkaProvider {
  const settings = kafkaSettings(env, providerId)
  const reader: KafkaReader = settings.adapter === 'redpanda' ? new RedpandaProxyReader(settings) : new UpstashRestReader(settings)
  return new KafkaProvider(reader, { pollTimeoutMs: settings.pollTimeoutMs })
}

