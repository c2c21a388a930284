/**
 * The Hono app: the stream route and its middleware (CORS, method, size limits, auth), the
 * route's steps from request to relay, and the one error handler that answers refusals as JSON.
 */
import { Hono, type Context } from 'hono'
import { cors } from 'hono/cors'
import type { AuthConfig } from './auth/auth-config'
import { authenticate, type AuthVariables } from './auth/authenticate'
import { CursorCodec, subscriptionBinding, type CursorKey } from './cursor/codec'
import { errorBody, RequestError } from './errors'
import type { FederatedRenderer } from './federation/federated-renderer'
import { authorize } from './graphql/authorization'
import { filterBatch } from './graphql/filter-batch'
import type { PreparedSubscription } from './graphql/operation'
import { parseGraphQLParams, prepareSubscription } from './graphql/operation'
import { PreparedSubscriptions } from './graphql/prepared-cache'
import type { EdfsSchema } from './graphql/schema'
import { resolveTemplates } from './graphql/templates'
import { readParams, readStartPosition } from './http/stream-request'
import { defaultLimits, type Limits } from './limits/limits'
import { checkParameterSizes, limitRequestSize } from './limits/request-size'
import { overloaded, streamLimit } from './limits/stream-limit'
import { silentLogger, type Logger } from './log'
import { providerKey, type Provider, type ProviderRegistry, type ResolvedRoute } from './providers/provider'
import { plainBatchRenderer, type FrameRendering } from './relay/frame-renderer'
import { combineHooks } from './relay/hooks'
import { relay, type BatchRenderer, type RelayHooks, type RelayStream, type StreamBudget } from './relay/relay'
import { streamLog } from './relay/stream-log'
import { createEventStream, type EventStreamOptions } from './sse/event-stream'
import { SSE_HEADERS } from './sse/frames'

export interface AppOptions {
  schema: EdfsSchema
  /** Providers by `kind:providerId`; every route of the schema must find its provider. */
  providers: ProviderRegistry
  /** The first key signs cursors, every key verifies them. Empty: unsigned cursors. */
  cursorKeys?: CursorKey[]
  heartbeatMs?: number
  retryMs?: number
  /** Streams end (without `complete`) after this long, before a platform's own limit cuts them. */
  maxStreamMs?: number
  /** Open streams this app holds at most; beyond, a new one gets 503 OVERLOADED. 0 or absent: no limit. */
  maxStreams?: number
  /** Origins allowed by CORS; `['*']` for any. Empty: no CORS headers. */
  corsOrigins?: string[]
  /** Lets pages of those origins send cookies (`withCredentials`); the origins are then listed, never `*`. */
  corsCredentials?: boolean
  /** JWT authentication of the stream; off when absent. */
  auth?: AuthConfig
  limits?: Limits
  /** HTML served at `/` (the demo page). */
  homePage?: string
  log?: Logger
  /** The broker host(s) of each provider by `kind:providerId`, without credentials, named when a broker fails a stream. */
  providerHosts?: ReadonlyMap<string, string>
  /** Called over each stream's life (metrics, tracing), after the stream log's own hooks. */
  hooks?: RelayHooks
  /** A federated graph's renderer: resolves entities from subgraphs (see federation/federated-renderer.ts). */
  federation?: FederatedRenderer
  /**
   * Makes a stream's response; by default its body is a web ReadableStream (the Node entry writes
   * to the socket instead). The stream then has no `clientSignal`: the platform reports the
   * client's departure (EventStreamControl.finish).
   */
  eventStreamResponse?: (request: Request, stream: EventStreamOptions) => Response
  /** The budget of the request being served, where the platform limits it (Workers: subrequests, and events for CPU time). */
  streamBudget?: () => StreamBudget | undefined
  /**
   * Serves a stream elsewhere once this app has accepted it (every refusal answered here, before any
   * I/O): Workers hand a broker route's streams to the route's Durable Object, which runs them with
   * the same app. Undefined: the stream is served here.
   */
  streamElsewhere?: (stream: AcceptedStream) => Promise<Response> | undefined
}

/** A stream the app accepted: its request, the GraphQL parameters read from it, and what it reads. */
export interface AcceptedStream {
  request: Request
  params: Record<string, unknown>
  route: ResolvedRoute
  provider: Provider
}

/** The variables the app's middleware puts on the request context. */
export type AppVariables = AuthVariables

const STREAM_PATH = '/graphql/stream'

export function createApp(options: AppOptions): Hono<{ Variables: AppVariables }> {
  const { schema, providers } = options
  const log = options.log ?? silentLogger
  const codec = new CursorCodec(options.cursorKeys)
  const retryMs = options.retryMs ?? 2000
  const heartbeatMs = options.heartbeatMs ?? 15_000
  const maxStreamMs = options.maxStreamMs ?? 3_600_000
  const limits = options.limits ?? defaultLimits
  const maxStreams = options.maxStreams ?? 0
  const limit = maxStreams > 0 ? streamLimit(maxStreams) : undefined
  const hostOf = (route: ResolvedRoute) => options.providerHosts?.get(providerKey(route.kind, route.providerId))
  const hooks = combineHooks(streamLog(log, hostOf), ...(limit ? [limit.hooks] : []), ...(options.hooks ? [options.hooks] : []))
  const subscriptions = new PreparedSubscriptions((params) => prepareSubscription(schema, params, limits))
  const plainRenderers = sharedPlainRenderers(codec)

  for (const [field, route] of schema.routes) {
    if (!providers.has(providerKey(route.kind, route.providerId))) {
      throw new Error(`Subscription.${field} needs the ${route.kind} provider "${route.providerId}", which is not configured`)
    }
  }

  const app = new Hono<{ Variables: AppVariables }>()

  if (options.corsOrigins?.length) {
    const origins = options.corsOrigins
    app.use(
      STREAM_PATH,
      cors({
        origin: origins.includes('*') ? '*' : origins,
        allowMethods: ['GET', 'POST', 'OPTIONS'],
        allowHeaders: ['Content-Type', 'Last-Event-ID', 'Authorization'],
        credentials: options.corsCredentials ?? false,
        maxAge: 600,
      }),
    )
  }

  if (options.homePage) {
    const page = options.homePage
    app.get('/', (c) => c.html(page))
  }

  // Hono answers HEAD with the GET handler and drops the body unread: that would open a
  // subscription nobody reads or cancels. A stream has no headers worth asking for alone.
  app.use(STREAM_PATH, async (c, next) => (c.req.method === 'HEAD' ? methodNotAllowed(c) : next()))
  app.use(STREAM_PATH, limitRequestSize(limits))
  if (options.auth) app.on(['GET', 'POST'], STREAM_PATH, authenticate(options.auth, { log, retryMs }))

  app.on(['GET', 'POST'], STREAM_PATH, async (c) => {
    const params = await readParams(c)
    checkParameterSizes(params, limits)
    const { prepared, resultOf } = subscriptions.get(parseGraphQLParams(params))
    authorize(prepared.guardedFields, c.get('identity')?.claims)
    const route = resolveRoute(prepared, c.get('identity')?.claims)
    const provider = providers.get(providerKey(route.kind, route.providerId))!
    const binding = subscriptionBinding([route.kind, route.providerId, route.streamName ?? '', ...route.names])
    const start = readStartPosition(c, (cursor) =>
      codec.decode(binding, cursor, { isValid: (position) => provider.isValidPosition(position, route), compare: provider.comparePositions }),
    )
    // Nothing between here and onOpen awaits: no other request can take the last slot meanwhile.
    if (limit?.full()) {
      log('warn', 'stream.overloaded', { open: limit.open(), max: maxStreams })
      throw overloaded(maxStreams, retryMs)
    }
    const elsewhere = options.streamElsewhere?.({ request: c.req.raw, params, route, provider })
    if (elsewhere) return elsewhere
    const stream: RelayStream = {
      id: crypto.randomUUID(),
      field: prepared.fieldName,
      route,
      start,
      openedAt: Date.now(),
      events: 0,
      lastPosition: undefined,
      failure: undefined,
    }
    const rendering: FrameRendering = {
      responseKey: prepared.responseKey,
      resultOf,
      cursorOf(position, first, last) {
        return codec.encode(binding, position, first, last)
      },
      noHistoryEvent: c.req.method === 'GET',
    }
    const federated = options.federation?.(prepared, rendering, c.req.raw.headers)
    const render = federated ?? plainRenderers.get(prepared, resultOf, binding, rendering.noHistoryEvent)
    const filter = prepared.route.filter
    const validUntilMs = c.get('identity')?.validUntilMs
    const budget = options.streamBudget?.()
    hooks.onOpen?.(stream)
    const streamOptions: EventStreamOptions = {
      retryMs,
      heartbeatMs,
      // The stream ends when its token does: the reconnect must bring a valid one.
      maxStreamMs: validUntilMs === undefined ? maxStreamMs : Math.min(maxStreamMs, validUntilMs - Date.now()),
      // A platform that writes the response itself hears the client go on its own connection;
      // on Node, the request's signal would make an undici Request that each stream then holds.
      ...(options.eventStreamResponse ? {} : { clientSignal: c.req.raw.signal }),
      // Methods, not named arrow functions: see EventStream (sse/event-stream.ts).
      onClose(reason) {
        hooks.onClose?.(stream, stream.failure ?? reason)
      },
      run(sink) {
        return relay(sink, {
          provider,
          stream,
          render,
          retryMs,
          hooks,
          ...(filter ? { filter: { apply: filterBatch(filter, prepared.argumentsAsSent), cursorOf: rendering.cursorOf } } : {}),
          ...(budget ? { budget } : {}),
        })
      },
    }
    if (options.eventStreamResponse) return options.eventStreamResponse(c.req.raw, streamOptions)
    return new Response(createEventStream(streamOptions), { headers: SSE_HEADERS })
  })

  app.all(STREAM_PATH, methodNotAllowed)

  app.notFound((c) => c.json(errorBody('NOT_FOUND', `No route for ${c.req.method} ${new URL(c.req.url).pathname}`), 404))

  app.onError((error, c) => {
    if (error instanceof RequestError) return c.json(errorBody(error.code, error.message), error.status, error.headers)
    log('error', 'request.failed', { error: String(error) })
    return c.json(errorBody('INTERNAL_SERVER_ERROR', 'Internal server error'), 500)
  })

  return app
}

function methodNotAllowed(c: Context): never {
  throw new RequestError(405, 'METHOD_NOT_ALLOWED', `${c.req.method} is not allowed; use GET or POST`, { Allow: 'GET, POST, OPTIONS' })
}

/**
 * The renderers of plain subscriptions, one for the streams that send the same request on the
 * same route: they render alike, so the relay renders a batch they all take once for them all,
 * and no stream holds a renderer of its own. A few routes per request are kept (templated
 * routes have one per argument or claim), least recently made out first.
 */
function sharedPlainRenderers(codec: CursorCodec) {
  const byRequest = new WeakMap<PreparedSubscription, Map<string, BatchRenderer>>()
  const ROUTES_PER_REQUEST = 64
  return {
    get(prepared: PreparedSubscription, resultOf: (text: string) => string, binding: string, noHistoryEvent: boolean): BatchRenderer {
      let byRoute = byRequest.get(prepared)
      if (!byRoute) byRequest.set(prepared, (byRoute = new Map()))
      const key = `${binding} ${noHistoryEvent}`
      let render = byRoute.get(key)
      if (!render) {
        if (byRoute.size >= ROUTES_PER_REQUEST) byRoute.delete(byRoute.keys().next().value!)
        render = plainBatchRenderer({
          responseKey: prepared.responseKey,
          resultOf,
          cursorOf(position, first, last) {
            return codec.encode(binding, position, first, last)
          },
          noHistoryEvent,
        })
        byRoute.set(key, render)
      }
      return render
    },
  }
}

/** What the subscription reads: its route with the templates filled from the arguments and the token's claims. */
function resolveRoute(prepared: PreparedSubscription, claims: Record<string, unknown> | undefined): ResolvedRoute {
  return {
    kind: prepared.route.kind,
    providerId: prepared.route.providerId,
    names: resolveTemplates(prepared.route, { args: prepared.args, ...(claims ? { claims } : {}) }),
    ...(prepared.route.streamName === undefined ? {} : { streamName: prepared.route.streamName }),
  }
}
