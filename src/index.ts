/**
 * edge-stream as a library: the stream route as a Hono app to mount in your own.
 *
 *   const streams = createApp({ schema: loadEdfsSchema(sdl), providers })
 *   app.route('/', streams)            // serves /graphql/stream
 *
 * `createServerFromEnv` builds the same app from environment variables, as the
 * runtime entries in src/runtime/ do.
 */
export { createApp, type AppOptions } from './app'
export { loadEdfsSchema, SchemaError, type EdfsSchema, type ProviderKind, type SubscriptionRoute } from './graphql/schema'
export {
  providerKey,
  type Provider,
  type ProviderItem,
  type ProviderRegistry,
  type ResolvedRoute,
  type StartPosition,
} from './providers/provider'
export { JetStreamProvider, type JetStreamOptions, type NatsConnector } from './providers/nats/jetstream-provider'
export { connectionPerStream, sharedConnection } from './providers/nats/nats-connection'
export { LiveFanout, type LiveFanoutOptions } from './providers/shared/live-fanout'
export { MemoryBroker, MemoryProvider } from './providers/memory/memory-provider'
export { RedisStreamsProvider, type RedisStreamsOptions } from './providers/redis/redis-streams-provider'
export { upstashOptions, type RedisCommand, type UpstashClientFactory, type UpstashSettings } from './providers/redis/upstash-client'
export { createKafkaProvider, type KafkaAdapter } from './providers/kafka/kafka-setup'
export { parseCursorKeys, type CursorKey } from './cursor/codec'
export { readAuthConfig, type AuthConfig, type KeySource, type SignatureAlgorithm } from './auth/auth-config'
export { defaultLimits, type Limits } from './limits/limits'
export { readLimits } from './limits/read-limits'
export { createLogger, silentLogger, type Logger, type LogLevel } from './log'
export { createServerFromEnv, type Platform, type Server } from './setup'
export { ConfigError, readConfig, type Config, type Env, type NatsSettings } from './config/env'
