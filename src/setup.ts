/**
 * The app built from the environment: configuration read once, the schema loaded, one provider
 * per EDFS provider the schema names (from the factory of its broker), and the demo when no schema
 * is configured. Runtime entries call `createServerFromEnv` with what differs between them.
 */
import type { Hono } from 'hono'
import { createApp, type AppOptions, type AppVariables } from './app'
import type { AuthConfig } from './auth/auth-config'
import { ConfigError, envId, type Env } from './config/env'
import { kafkaSettings, natsSettings, redisSettings } from './config/providers'
import { readEnv, type Config } from './config/read-env'
import { demoPage } from './demo/page'
import { demoSchema } from './demo/schema'
import { federatedRenderer } from './federation/federated-renderer'
import { ExecutionConfigError, loadExecutionConfig, type FederatedGraph } from './federation/execution-config'
import { reachableTypeNames } from './graphql/directives'
import { loadEdfsSchema, SchemaError, type EdfsSchema, type ProviderKind, type SubscriptionRoute } from './graphql/schema'
import { createLogger, type Logger } from './log'
import { createKafkaProvider } from './providers/kafka/kafka-setup'
import { MemoryBroker, MemoryProvider } from './providers/memory/memory-provider'
import { JetStreamProvider } from './providers/nats/jetstream-provider'
import { connectionPerStream, type NatsConnector, type NatsSettings } from './providers/nats/nats-connection'
import { providerKey, type Provider } from './providers/provider'
import { RedisStreamsProvider } from './providers/redis/redis-streams-provider'
import type { UpstashClientFactory } from './providers/redis/upstash-client'
import { LiveFanout } from './providers/shared/live-fanout'
import { probeTargets, providerHosts, type ProbeTarget } from './probes/provider-probes'
import type { RelayHooks, StreamBudget } from './relay/relay'

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
  /**
   * Kafka and Redis streams at the head of a route share one poll loop too (the Workers route
   * object; their positions are vectors, compared component by component).
   */
  shareLivePolls?: boolean
  /** Hooks over each stream's life for this configuration (the Node entry's metrics when METRICS_PORT is set). */
  hooks?: (config: Config) => RelayHooks | undefined
  /** How a stream's response is made, where the runtime can do better than a web ReadableStream body (Node). */
  eventStreamResponse?: AppOptions['eventStreamResponse']
  /** The budget of the request being served, where the platform limits it (Workers: subrequests, and events for CPU time). */
  streamBudget?: () => StreamBudget | undefined
  /** Serves accepted streams elsewhere, given this configuration (Workers: a Durable Object per route, see AppOptions.streamElsewhere). */
  streamElsewhere?: (config: Config) => AppOptions['streamElsewhere']
}

export interface Server {
  app: Hono<{ Variables: AppVariables }>
  /** The providers the app reads, by `kind:providerId`. */
  providers: ReadonlyMap<string, Provider>
  config: Config
  /** The embedded broker, when some provider runs in memory (the demo does). */
  memoryBroker: MemoryBroker | undefined
  log: Logger
  /** The broker URLs to probe at start or first use (probes/provider-probes.ts). */
  probeTargets: ProbeTarget[]
}

/** What a provider factory may use besides its own variables. */
interface ProviderContext {
  env: Env
  config: Config
  platform: Platform
  log: Logger
  /** The embedded broker, made on first use and shared by every in-memory provider. */
  memoryBroker(): MemoryBroker
}

type ProviderFactory = (providerId: string, context: ProviderContext) => Provider

const providerFactories: Record<ProviderKind, ProviderFactory> = {
  nats(providerId, { env, config, platform, memoryBroker }) {
    const settings = natsSettings(env, providerId)
    if (settings === undefined && config.schema.source !== 'demo') {
      throw new ConfigError(`NATS_${envId(providerId)}_URL`, `is required by the schema's provider "${providerId}"`)
    }
    const provider =
      settings === undefined || settings.servers[0] === 'memory:'
        ? new MemoryProvider(memoryBroker())
        : new JetStreamProvider((platform.natsConnector ?? connectionPerStream)(settings, config.heartbeatMs), {
            requireHistory: config.requireHistory,
            // A waiting pull is heard from as often as the client is, so its silence is noticed as soon.
            pullHeartbeatMs: config.heartbeatMs,
          })
    return platform.shareLiveReads ? new LiveFanout(provider) : provider
  },
  kafka(providerId, { env, config, platform }) {
    // The resume depth costs a request per resume: asked for only where metrics report it.
    const provider = createKafkaProvider(kafkaSettings(env, providerId), { reportBacklog: config.metricsPort !== undefined })
    return platform.shareLivePolls ? new LiveFanout(provider) : provider
  },
  redis(providerId, { env, platform }) {
    const settings = redisSettings(env, providerId)
    const client = platform.upstashClient
    if (!client) throw new Error('this runtime entry passes no Upstash client to the setup (Platform.upstashClient)')
    const provider = new RedisStreamsProvider((signal) => client(settings, signal), { blockMs: settings.blockMs, requestTimeoutMs: settings.requestTimeoutMs })
    return platform.shareLivePolls ? new LiveFanout(provider) : provider
  },
}

/** Builds the app from environment variables; throws ConfigError naming the first bad one. */
export function createServerFromEnv(env: Env, platform: Platform = {}): Server {
  const config = readEnv(env, platform.readFile)
  const log = createLogger(config.logLevel, platform.log)
  const schema = loadSchema(config)
  const federated = 'datasources' in schema ? (schema as FederatedGraph) : undefined
  requireAuthForClaims(schema, config.auth)
  let memoryBroker: MemoryBroker | undefined
  const context: ProviderContext = { env, config, platform, log, memoryBroker: () => (memoryBroker ??= new MemoryBroker()) }
  const providers = new Map<string, Provider>()
  const targets: ProbeTarget[] = []
  for (const route of schema.routes.values()) {
    const key = providerKey(route.kind, route.providerId)
    if (providers.has(key)) continue
    const provider = providerFactories[route.kind](route.providerId, context)
    providers.set(key, provider)
    targets.push(...probeTargets(route.kind, route.providerId, env))
  }
  const hooks = platform.hooks?.(config)
  const streamElsewhere = platform.streamElsewhere?.(config)
  const app = createApp({
    schema,
    providers,
    cursorKeys: config.cursorKeys,
    heartbeatMs: config.heartbeatMs,
    retryMs: config.retryMs,
    maxStreamMs: config.maxStreamMs,
    maxStreams: config.maxStreams,
    corsOrigins: config.corsOrigins,
    corsCredentials: config.corsCredentials,
    ...(config.auth ? { auth: config.auth } : {}),
    limits: config.limits,
    providerHosts: providerHosts(targets),
    ...(config.schema.source === 'demo' ? { homePage: demoPage } : {}),
    ...(federated
      ? {
          federation: federatedRenderer({
            graph: federated,
            subgraphTimeoutMs: config.federation.subgraphTimeoutMs,
            forwardHeaders: config.federation.forwardHeaders,
            shareInFlight: platform.shareLiveReads === true,
          }),
        }
      : {}),
    ...(platform.eventStreamResponse ? { eventStreamResponse: platform.eventStreamResponse } : {}),
    ...(platform.streamBudget ? { streamBudget: platform.streamBudget } : {}),
    ...(streamElsewhere ? { streamElsewhere } : {}),
    log,
    ...(hooks ? { hooks } : {}),
  })
  return { app, providers, config, memoryBroker, log, probeTargets: targets }
}

function loadSchema(config: Config): EdfsSchema {
  const source = config.schema
  if (source.source === 'EXECUTION_CONFIG_FILE_PATH') return loadFederatedGraph(source.path, source.text, config)
  try {
    return loadEdfsSchema(source.source === 'demo' ? demoSchema : source.sdl)
  } catch (error) {
    if (error instanceof SchemaError) throw new ConfigError(source.source === 'demo' ? 'schema' : source.source, error.message)
    throw error
  }
}

/** The graph of a Cosmo router execution config; every problem names the file. */
function loadFederatedGraph(path: string, text: string, config: Config): FederatedGraph {
  let graph: FederatedGraph
  try {
    graph = loadExecutionConfig(text, config.federation.subgraphUrl)
  } catch (error) {
    if (error instanceof ExecutionConfigError) throw new ConfigError('EXECUTION_CONFIG_FILE_PATH', `${path} ${error.message}`)
    throw error
  }
  return graph
}

/**
 * A schema whose subjects name `{{ claims.… }}` needs verified claims: without auth every such
 * subscription would be refused, so that is a start error rather than a stream of 403s.
 */
function requireAuthForClaims(schema: EdfsSchema, auth: AuthConfig | undefined): void {
  if (auth) return
  for (const [field, route] of schema.routes) {
    if (usesClaims(route)) throw new ConfigError('AUTH_JWKS_URL', `Subscription.${field} uses {{ claims.… }}: set AUTH_JWKS_URL or AUTH_SECRET`)
  }
  // Likewise @authenticated/@requiresScopes: without auth no request could ever pass them.
  const reachable = reachableTypeNames(schema.schema)
  const guarded = [...schema.authorizations.keys()].find((coordinate) => reachable.has(coordinate.split('.')[0]!))
  if (guarded !== undefined) throw new ConfigError('AUTH_JWKS_URL', `${guarded} has @authenticated or @requiresScopes: set AUTH_JWKS_URL or AUTH_SECRET`)
}

const usesClaims = (route: SubscriptionRoute): boolean =>
  route.templates.some((template) => template.parts.some((part) => typeof part !== 'string' && part.source === 'claims'))
