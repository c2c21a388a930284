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
 * of a JetStream, Kafka or Redis route run in one RouteReader object per route, which the Worker
 * hands each stream it accepted to (src/edge/route-object.ts); without it, each stream reads the
 * broker itself.
 */
import { AsyncLocalStorage } from 'node:async_hooks'
import type { ExecutionContext } from 'hono'
import { ConfigError, type Env } from '../config/env'
import { errorBody } from '../errors'
import { objectEventStream, streamThroughObject, type AttachToObject } from '../edge/route-object'
import { EventBudget } from '../edge/event-budget'
import { chargedUntilReleased, chargeOutgoingRequests, MAX_CONNECTIONS, SubrequestBudget } from '../edge/subrequest-budget'
import { fetchProbe, probeProviders } from '../probes/provider-probes'
import { MemoryProvider } from '../providers/memory/memory-provider'
import { sharedConnection } from '../providers/nats/nats-connection'
import { cloudflareUpstashClient } from '../providers/redis/upstash-cloudflare'
import { createServerFromEnv, type Platform, type Server } from '../setup'

/** The Durable Object binding of the route readers, as wrangler.toml names it. */
const ROUTE_READERS = 'ROUTE_READERS'

/** What the Worker uses of a Durable Object namespace binding. */
interface ObjectNamespace {
  idFromName(name: string): unknown
  get(id: unknown): { fetch(request: Request): Promise<Response> }
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
      server ??= buildServer(pickStrings(env), readers ? { streamElsewhere: streamsThrough(readers) } : {})
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

/** The event budget of the stream an object's request runs: the CPU time of its rendering is that request's. */
const objectStream = new AsyncLocalStorage<EventBudget>()

/**
 * The Durable Object running the streams of one route: the app as the Worker builds it, its
 * providers read through LiveFanout (for JetStream on one NATS connection, as on Node; for Kafka
 * and Redis with one poll loop at the head), and each stream's SSE body the answer to the Worker's
 * request (src/edge/route-object.ts).
 */
export class RouteReader {
  private server: Promise<Server> | undefined

  constructor(
    _state: unknown,
    private readonly env: Env,
  ) {}

  async fetch(request: Request): Promise<Response> {
    this.server ??= buildServer(pickStrings(this.env), {
      natsConnector: sharedConnection,
      shareLiveReads: true,
      shareLivePolls: true,
      eventStreamResponse: objectEventStream,
      streamBudget: () => objectStream.getStore(),
    })
    const { app, config } = await this.server
    return objectStream.run(new EventBudget(config.maxStreamEvents), () => app.fetch(request))
  }
}

/** The streams of broker providers run in their route's object; those of the in-memory one (a demo) where they are. */
function streamsThrough(readers: ObjectNamespace): NonNullable<Platform['streamElsewhere']> {
  const attach: AttachToObject = (name, request) =>
    // The attachment is a subrequest of the stream's request, holding a connection while it is open.
    chargedUntilReleased(invocation.getStore()?.requests, () => readers.get(readers.idFromName(name)).fetch(request))
  return (config) => (stream) => (stream.provider instanceof MemoryProvider ? undefined : streamThroughObject(attach, stream, config.retryMs))
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
    streamBudget: () => invocation.getStore()?.stream,
    ...runtime,
    upstashClient: cloudflareUpstashClient,
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
