/**
 * edge-stream as a library: the stream route as a Hono app to mount in your own.
 *
 *   const streams = createApp({ schema: loadEdfsSchema(sdl), providers })
 *   app.route('/', streams)            // serves /graphql/stream
 *
 * `createServerFromEnv` builds the same app from environment variables, as the
 * runtime entries in src/runtime/ do.
 */
export { createApp, type AppOptions, type AppVariables } from './app'
export { loadEdfsSchema, SchemaError, type EdfsSchema, type ProviderKind, type SubscriptionRoute } from './graphql/schema'
export {
  providerKey,
  type GapReason,
  type Provider,
  type ProviderItem,
  type ProviderRegistry,
  type ResolvedRoute,
  type StartPosition,
} from './providers/provider'
export type { RelayHooks, RelayStream, StreamEnd } from './relay/relay'
export { JetStreamProvider, type JetStreamOptions } from './providers/nats/jetstream-provider'
export { connectionPerStream, sharedConnection, type NatsConnector, type NatsSettings } from './providers/nats/nats-connection'
export { LiveFanout, type LiveFanoutOptions } from './providers/shared/live-fanout'
export type { ComparePositions } from './providers/shared/position-order'
export { MemoryBroker, MemoryProvider } from './providers/memory/memory-provider'
export { RedisStreamsProvider, type RedisStreamsOptions } from './providers/redis/redis-streams-provider'
export { upstashOptions, type RedisCommand, type RedisSettings, type UpstashClientFactory, type UpstashSettings } from './providers/redis/upstash-client'
export { createKafkaProvider, type KafkaAdapter, type KafkaSettings } from './providers/kafka/kafka-setup'
export { parseCursorKeys, type CursorKey } from './cursor/codec'
export type { AuthConfig, KeySource, SignatureAlgorithm } from './auth/auth-config'
export { defaultLimits, type Limits } from './limits/limits'
export { createLogger, silentLogger, type Logger, type LogLevel } from './log'
export { createServerFromEnv, type Platform, type Server } from './setup'
export { ConfigError, type Env } from './config/env'
export { readEnv, type Config } from './config/read-env'
export { readAuthConfig } from './config/auth'
export { readLimits } from './config/limits'
export { kafkaSettings, natsSettings, redisSettings } from './config/providers'
