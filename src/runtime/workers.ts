/**
 * Cloudflare Workers entry. The app is built once per isolate from the wrangler
 * vars; NATS connections are opened per stream (workerd cannot share I/O objects
 * between requests). A Cosmo execution config is too large for a var (5 KB): it is
 * uploaded as a Text module (wrangler's `rules`, docs/deploy-cloudflare.md) and
 * EXECUTION_CONFIG_FILE_PATH names that module, imported here before the first build.
 *
 * Each invocation (one stream) gets a SubrequestBudget of MAX_SUBREQUESTS, found through
 * AsyncLocalStorage (the `nodejs_als` flag, no Node polyfills) by the global fetch and WebSocket,
 * which charge it: the stream ends cleanly before the platform would fail a request. It also
 * ends after MAX_STREAM_EVENTS events (an EventBudget), before its CPU time could pass the platform's limit.
 *
 * With the `ROUTE_READERS` Durable Object binding (on in the shipped wrangler.toml), the streams
 * of a JetStream, Kafka or Redis route read through one RouteReader object per route
 * (src/edge/route-object.ts); without it, each stream reads the broker itself.
 */
import { AsyncLocalStorage } from 'node:async_hooks'
import type { ExecutionContext } from 'hono'
import { ConfigError, type Env } from '../config/env'
import { errorBody } from '../errors'
import { readAttachRequest, RouteObjectProvider, serveAttachment, type AttachToObject } from '../edge/route-object'
import { EventBudget } from '../edge/event-budget'
import { chargedUntilReleased, chargeOutgoingRequests, MAX_CONNECTIONS, SubrequestBudget } from '../edge/subrequest-budget'
import { fetchProbe, probeProviders } from '../probes/provider-probes'
import { MemoryProvider } from '../providers/memory/memory-provider'
import { sharedConnection } from '../providers/nats/nats-connection'
import { providerKey, type Provider } from '../providers/provider'
import { cloudflareUpstashClient } from '../providers/redis/upstash-cloudflare'
import { createServerFromEnv, type Platform, type Server } from '../setup'

/** The Durable Object binding of the route readers, as wrangler.toml names it. */
const ROUTE_READERS = 'ROUTE_READERS'

/** What the Worker uses of a Durable Object namespace binding. */
interface ObjectNamespace {
  idFromName(name: string): unknown
  get(id: unknown): { fetch(url: string, init: RequestInit): Promise<Response> }
}

let server: Promise<Server> | undefined
/** The brokers are probed once per isolate, at its first request (a Worker has no start of its own). */
let probed = false
/** The budgets of the invocation running now: its requests, charged by fetch and WebSocket, and its stream's. */
const invocation = new AsyncLocalStorage<{ requests: SubrequestBudget; stream: EventBudget }>()
chargeOutgoingRequests(() => invocation.getStore()?.requests)

export default {
  async fetch(request: Request, env: Env, ctx: ExecutionContext): Promise<Response> {
    let built: Server
    try {
      const readers = objectNamespace(env)
      server ??= buildServer(pickStrings(env), readers ? { routeReaders: routeReadersThrough(readers) } : {})
      built = await server
    } catch (error) {
      console.error(`edge-stream: invalid configuration: ${error instanceof ConfigError ? error.message : String(error)}`)
      return Response.json(errorBody('INTERNAL_SERVER_ERROR', 'The server is misconfigured'), { status: 500 })
    }
    // The platform counts the isolate's broker probes as subrequests (and connections) of its first
    // request: that request's stream leaves room for them (they run outside its budget, which they cannot fail).
    let probes = 0
    if (!probed) {
      probed = true
      probes = built.probeTargets.length
      ctx.waitUntil(probeProviders(built.probeTargets, fetchProbe, built.log))
    }
    const requests = new SubrequestBudget(Math.max(1, built.config.maxSubrequests - probes), Math.max(1, MAX_CONNECTIONS - probes))
    const budgets = { requests, stream: new EventBudget(built.config.maxStreamEvents, requests) }
    return invocation.run(budgets, () => built.app.fetch(request, env, ctx))
  },
}

/**
 * The Durable Object reading one route for every Worker stream attached to it: the route's
 * streams are served through LiveFanout (for JetStream on one NATS connection, as on Node; for
 * Kafka and Redis with one poll loop at the head), and each attached stream's batches go back
 * as the lines of its streaming response (src/edge/route-object.ts).
 */
export class RouteReader {
  private server: Promise<Server> | undefined

  constructor(
    _state: unknown,
    private readonly env: Env,
  ) {}

  async fetch(request: Request): Promise<Response> {
    const attach = readAttachRequest(await request.json().catch(() => undefined))
    if (attach === undefined) return new Response('an attach request is { route, start }', { status: 400 })
    this.server ??= buildServer(pickStrings(this.env), { natsConnector: sharedConnection, shareLiveReads: true, shareLivePolls: true })
    const { providers, config } = await this.server
    return serveAttachment((route) => providers.get(providerKey(route.kind, route.providerId)), attach, request.signal, Math.min(config.heartbeatMs, 5000))
  }
}

/** Broker providers read through the route's object; the in-memory one (a demo) is read where it is. */
function routeReadersThrough(readers: ObjectNamespace): NonNullable<Platform['routeReaders']> {
  const attach: AttachToObject = (name, body, signal) =>
    // The attachment is a subrequest of the stream's request, holding a connection while it is open.
    chargedUntilReleased(invocation.getStore()?.requests, () => readers.get(readers.idFromName(name)).fetch('https://route-reader/attach', { method: 'POST', body, signal }))
  return (provider: Provider) => (provider instanceof MemoryProvider ? provider : new RouteObjectProvider(provider, attach))
}

function objectNamespace(env: Env): ObjectNamespace | undefined {
  const binding: unknown = (env as Record<string, unknown>)[ROUTE_READERS]
  return typeof binding === 'object' && binding !== null && 'idFromName' in binding ? (binding as ObjectNamespace) : undefined
}

async function buildServer(env: Env, runtime: Partial<Platform> = {}): Promise<Server> {
  const files = new Map<string, string>()
  const path = env.EXECUTION_CONFIG_FILE_PATH
  if (path) {
    try {
      const module = (await import(/* a module of the upload, not of the bundle */ path)) as { default?: unknown }
      files.set(path, typeof module.default === 'string' ? module.default : JSON.stringify(module.default))
    } catch {
      throw new ConfigError('EXECUTION_CONFIG_FILE_PATH', `"${path}" is not a module of this Worker: add a Text rule for it to wrangler.toml (docs/deploy-cloudflare.md)`)
    }
  }
  return createServerFromEnv(env, {
    ...runtime,
    upstashClient: cloudflareUpstashClient,
    streamBudget: () => invocation.getStore()?.stream,
    readFile: (file) => {
      const text = files.get(file)
      if (text === undefined) throw new Error(`${file} is not bundled`)
      return text
    },
  })
}

/** Bindings may hold objects (KV, secrets store); only strings are configuration. */
function pickStrings(env: Env): Env {
  return Object.fromEntries(Object.entries(env).filter(([, value]) => typeof value === 'string'))
}
