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

/** The Kafka provider over the HTTP protocol its settings name; `reportBacklog`: see KafkaStreamOptions. */
export function createKafkaProvider(settings: KafkaSettings, { reportBacklog = false } = {}): KafkaProvider {
  const reader: KafkaReader = settings.adapter === 'redpanda' ? new RedpandaProxyReader(settings) : new UpstashRestReader(settings)
  return new KafkaProvider(reader, { pollTimeoutMs: settings.pollTimeoutMs, reportBacklog })
}
