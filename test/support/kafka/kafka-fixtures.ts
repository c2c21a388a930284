import type { Env } from '../../../src/config/env'
import { KafkaBackend } from './kafka-backend'
import type { RunningHttpServer } from './json-http-server'
import { startRedpandaProxy, type ProxyOptions } from './redpanda-proxy-server'
import { startUpstashRest } from './upstash-rest-server'

export type Adapter = 'redpanda' | 'upstash'

/** The schema of the Kafka tests: one field on two templated topics, one on a single topic. */
export const kafkaSchema = /* GraphQL */ `
  type Query { ok: Boolean }
  type Record { n: Int! p: Int! s: Int! t: String! }
  type Subscription {
    pair(a: String!, b: String!): Record!
      @edfs__kafkaSubscribe(topics: ["k.{{ args.a }}", "k.{{ args.b }}"], providerId: "default")
    single(topic: String!): Record! @edfs__kafkaSubscribe(topics: ["k.{{ args.topic }}"], providerId: "default")
  }
`

export const pairQuery = (a: string, b: string) => `subscription { pair(a: "${a}", b: "${b}") { n p s t } }`
export const singleQuery = (topic: string) => `subscription { single(topic: "${topic}") { n p s t } }`

export interface KafkaHttp extends RunningHttpServer {
  backend: KafkaBackend
  close(): Promise<void>
}

/** The translation server of one HTTP protocol in front of the real test broker. */
export async function startKafkaHttp(bootstrap: string, adapter: Adapter, options: ProxyOptions = {}): Promise<KafkaHttp> {
  const backend = new KafkaBackend(bootstrap)
  const server = await (adapter === 'redpanda' ? startRedpandaProxy : startUpstashRest)(backend, options)
  return {
    ...server,
    backend,
    async close() {
      await server.stop()
      await backend.close()
    },
  }
}

/** The function's environment for the Kafka provider "default" behind `url`. */
export function kafkaEnv(adapter: Adapter, url: string, extra: Env = {}): Env {
  return { SCHEMA: kafkaSchema, KAFKA_DEFAULT_URL: url, KAFKA_DEFAULT_ADAPTER: adapter, ...extra }
}

