import { createApp } from './app'
import { readAuthConfig, requireAuthForClaims } from './auth/auth-config'
import { ConfigError, envId, natsSettings, readConfig, type Config, type Env, type NatsSettings } from './config/env'
import { demoPage } from './demo/page'
import { loadEdfsSchema, SchemaError, type EdfsSchema } from './graphql/schema'
import { readLimits } from './limits/read-limits'
import { createLogger, type Logger } from './log'
import { JetStreamProvider, type NatsConnector } from './providers/nats/jetstream-provider'
import { LiveFanout } from './providers/shared/live-fanout'
import { createKafkaProvider } from './providers/kafka/kafka-setup'
import { MemoryBroker, MemoryProvider } from './providers/memory/memory-provider'
import { connectionPerStream } from './providers/nats/nats-connection'
import { providerKey, type Provider } from './providers/provider'
import { createRedisStreamsProvider } from './providers/redis-setup'
import type { UpstashClientFactory } from './providers/redis/upstash-client'
import type { Hono } from 'hono'

/** What differs between runtimes when building the app from the environment. */
export interface Platform {
  /** Reads SCHEMA_PATH; absent where there is no file system (Workers). */
  readFile?: (path: string) => string
  log?: (line: string) => void
  /** The @upstash/redis build for this runtime; needed when the schema has Redis routes. */
  upstashClient?: UpstashClientFactory
  /** How streams get NATS connections; one per stream unless the runtime can share one (Node). */
  natsConnector?: (settings: NatsSettings, pingIntervalMs: number) => NatsConnector
  /**
   * Streams at the head of a NATS or memory log share one reader per route (see live-fanout.ts).
   * Only where one process serves many streams: a Workers or Vercel connection serves one request.
   */
  shareLiveReads?: boolean
}

export interface Server {
  app: Hono
  config: Config
  /** The embedded broker, when some provider runs in memory (the demo does). */
  memoryBroker: MemoryBroker | undefined
  log: Logger
}

/** Builds the app from environment variables; throws ConfigError naming the first bad one. */
export function createServerFromEnv(env: Env, platform: Platform = {}): Server {
  const config = readConfig(env, platform.readFile)
  const log = createLogger(config.logLevel, platform.log)
  let schema: EdfsSchema
  try {
    schema = loadEdfsSchema(config.schema.sdl)
  } catch (error) {
    if (error instanceof SchemaError) throw new ConfigError(config.schema.source === 'demo' ? 'schema' : config.schema.source, (error as Error).message)
    throw error
  }
  const auth = readAuthConfig(env)
  requireAuthForClaims(schema, auth)
  let memoryBroker: MemoryBroker | undefined
  const shared = (provider: Provider): Provider => (platform.shareLiveReads ? new LiveFanout(provider) : provider)
  const providers = new Map<string, Provider>()
  for (const route of schema.routes.values()) {
    const key = providerKey(route.kind, route.providerId)
    if (providers.has(key)) continue
    if (route.kind === 'redis') {
      providers.set(key, createRedisStreamsProvider(env, route.providerId, platform.upstashClient))
      continue
    }
    if (route.kind === 'kafka') {
      providers.set(key, createKafkaProvider(env, route.providerId))
      continue
    }
    const settings = natsSettings(env, route.providerId)
    if (settings === undefined && config.schema.source !== 'demo') {
      throw new ConfigError(`NATS_${envId(route.providerId)}_URL`, `is required by the schema's provider "${route.providerId}"`)
    }
    if (settings === undefined || settings.url === 'memory:') {
      memoryBroker ??= new MemoryBroker()
      providers.set(key, shared(new MemoryProvider(memoryBroker)))
    } else {
      const connector = (platform.natsConnector ?? connectionPerStream)(settings, config.heartbeatMs)
      providers.set(key, shared(new JetStreamProvider(connector, { requireHistory: config.requireHistory, log })))
    }
  }
  const app = createApp({
    schema,
    providers,
    cursorKeys: config.cursorKeys,
    heartbeatMs: config.heartbeatMs,
    retryMs: config.retryMs,
    maxStreamMs: config.maxStreamMs,
    corsOrigins: config.corsOrigins,
    corsCredentials: config.corsCredentials,
    auth,
    limits: readLimits(env),
    ...(config.schema.source === 'demo' ? { homePage: demoPage } : {}),
    log,
  })
  return { app, config, memoryBroker, log }
}
