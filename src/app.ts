import { Hono, type Context } from 'hono'
import { cors } from 'hono/cors'
import type { AuthConfig } from './auth/auth-config'
import { authenticate } from './auth/authenticate'
import { CursorCodec, subscriptionBinding, type CursorKey } from './cursor/codec'
import { errorBody, RequestError, StreamError } from './errors'
import { parseGraphQLParams, prepareSubscription, type PreparedSubscription } from './graphql/operation'
import { PreparedSubscriptions } from './graphql/prepared-cache'
import type { EdfsSchema } from './graphql/schema'
import { resolveTemplates } from './graphql/templates'
import { defaultLimits, type Limits } from './limits/limits'
import { checkParameterSizes, limitRequestSize } from './limits/request-size'
import { silentLogger, type Logger } from './log'
import { providerKey, type ProviderItem, type ProviderRegistry, type ResolvedRoute, type StartPosition } from './providers/provider'
import { createEventStream } from './sse/event-stream'
import { completeFrame, errorFrame, gapFrame, nextFrame } from './sse/frames'

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
}

const STREAM_PATH = '/graphql/stream'
const SSE_HEADERS = {
  'Content-Type': 'text/event-stream; charset=utf-8',
  'Cache-Control': 'no-cache',
  'X-Accel-Buffering': 'no',
} as const

export function createApp(options: AppOptions): Hono {
  const { schema, providers } = options
  const log = options.log ?? silentLogger
  const codec = new CursorCodec(options.cursorKeys)
  const retryMs = options.retryMs ?? 2000
  const heartbeatMs = options.heartbeatMs ?? 15_000
  const maxStreamMs = options.maxStreamMs ?? 3_600_000

  for (const [field, route] of schema.routes) {
    if (!providers.has(providerKey(route.kind, route.providerId))) {
      throw new Error(`Subscription.${field} needs the ${route.kind} provider "${route.providerId}", which is not configured`)
    }
  }

  const app = new Hono()

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
  const limits = options.limits ?? defaultLimits
  const subscriptions = new PreparedSubscriptions((params) => prepareSubscription(schema, params, limits))
  app.use(STREAM_PATH, limitRequestSize(limits))
  if (options.auth) app.on(['GET', 'POST'], STREAM_PATH, authenticate(options.auth, { log, retryMs }))

  app.on(['GET', 'POST'], STREAM_PATH, async (c) => {
    const params = await readParams(c)
    checkParameterSizes(params, limits)
    const { prepared, resultOf } = subscriptions.get(parseGraphQLParams(params))
    const identity = c.get('identity')
    const route: ResolvedRoute = {
      kind: prepared.route.kind,
      providerId: prepared.route.providerId,
      names: resolveTemplates(prepared.route, { args: prepared.args, claims: identity?.claims }),
      ...(prepared.route.streamName === undefined ? {} : { streamName: prepared.route.streamName }),
    }
    const provider = providers.get(providerKey(route.kind, route.providerId))!
    const binding = subscriptionBinding([route.kind, route.providerId, route.streamName ?? '', ...route.names])
    const start = readStartPosition(c, (cursor) => {
      const position = codec.decode(binding, cursor)
      if (!provider.isValidPosition(position, route)) throw new RequestError(400, 'INVALID_CURSOR', 'Last-Event-ID is malformed')
      return position
    })
    const render = frameRenderer(prepared, resultOf, (position) => codec.encode(binding, position))
    // The stream's life in the log: positions and counts only, never a payload or a credential.
    const streamId = crypto.randomUUID()
    const openedAt = Date.now()
    let events = 0
    let lastSent: string | undefined
    let failure: 'refused' | 'upstream-error' | undefined
    const resume = start.from === 'after'
    log('info', 'stream.open', { streamId, field: prepared.fieldName, route: route.names, start: describeStart(start), resume })

    const body = createEventStream({
      retryMs,
      heartbeatMs,
      // The stream ends when its token does: the reconnect must bring a valid one.
      maxStreamMs: identity ? Math.min(maxStreamMs, identity.validUntilMs - Date.now()) : maxStreamMs,
      clientSignal: c.req.raw.signal,
      onClose: (reason) =>
        log('info', 'stream.close', { streamId, reason: failure ?? reason, events, lastSent, durationMs: Date.now() - openedAt }),
      run: async (sink) => {
        try {
          for await (const batch of provider.open(route, start, sink.signal)) {
            let frames = ''
            for (const item of batch) {
              if (item.type === 'gap') {
                log('warn', 'stream.gap', { streamId, reason: item.reason, requested: item.requested, resumedFrom: item.resumedFrom })
              } else {
                events++
                if (item.position !== undefined) lastSent = item.position
              }
              frames += render(item)
            }
            sink.write(frames)
            await sink.ready()
            if (sink.signal.aborted) break
          }
        } catch (error) {
          if (sink.signal.aborted) return
          if (error instanceof StreamError) {
            failure = 'refused'
            log('warn', 'stream.refused', { streamId, code: error.code, error: error.message })
            // A permanent refusal ends the subscription; any other one is retried, spread by jitter.
            const retry = error.permanent ? undefined : Math.round(retryMs * (1 + Math.random()))
            sink.write(errorFrame(JSON.stringify(errorBody(error.code, error.message)), retry) + (error.permanent ? completeFrame : ''))
            return
          }
          failure = 'upstream-error'
          log('error', 'stream.upstream_error', { streamId, error: String(error) })
          const body = errorBody('UPSTREAM_UNAVAILABLE', 'The event broker is unavailable; retrying.')
          sink.write(errorFrame(JSON.stringify(body), Math.round(retryMs * (1 + Math.random()))))
        }
      },
    })
    return new Response(body, { headers: SSE_HEADERS })
  })

  app.all(STREAM_PATH, methodNotAllowed)

  app.notFound((c) => c.json(errorBody('NOT_FOUND', `No route for ${c.req.method} ${new URL(c.req.url).pathname}`), 404))

  app.onError((error, c) => {
    if (error instanceof RequestError) return c.json(errorBody(error.code, error.message), error.status)
    log('error', 'request.failed', { error: String(error) })
    return c.json(errorBody('INTERNAL_SERVER_ERROR', 'Internal server error'), 500)
  })

  return app
}

function methodNotAllowed(c: Context): Response {
  return c.json(errorBody('METHOD_NOT_ALLOWED', `${c.req.method} is not allowed; use GET or POST`), 405, {
    Allow: 'GET, POST, OPTIONS',
  })
}

/** GraphQL-over-HTTP parameters from the query string (GET) or a JSON body (POST). */
async function readParams(c: Context): Promise<Record<string, unknown>> {
  if (c.req.method === 'GET') return c.req.query()
  let body: unknown
  try {
    body = await c.req.json()
  } catch {
    throw new RequestError(400, 'BAD_REQUEST', 'The request body must be a JSON object')
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new RequestError(400, 'BAD_REQUEST', 'The request body must be a JSON object')
  }
  return body as Record<string, unknown>
}

/** `Last-Event-ID`, then `?lastEventId=`, then `?from=earliest`, else new events only. */
function readStartPosition(c: Context, decode: (cursor: string) => string): StartPosition {
  const cursor = c.req.header('Last-Event-ID') || c.req.query('lastEventId')
  if (cursor) return { from: 'after', position: decode(cursor) }
  const from = c.req.query('from')
  if (from === undefined || from === 'live') return { from: 'live' }
  if (from === 'earliest') return { from: 'earliest' }
  throw new RequestError(400, 'BAD_REQUEST', 'from must be "earliest" or "live"')
}

function describeStart(start: StartPosition): string {
  return start.from === 'after' ? `after ${start.position}` : start.from
}

function frameRenderer(prepared: PreparedSubscription, resultOf: (text: string) => string, toCursor: (position: string) => string) {
  const eventError = (message: string): string =>
    JSON.stringify({ data: null, errors: [{ message, path: [prepared.responseKey] }] })
  return (item: ProviderItem): string => {
    if (item.type === 'gap') {
      return gapFrame(item.requested === null ? null : toCursor(item.requested), toCursor(item.resumedFrom), item.reason)
    }
    const result = item.error === undefined ? resultOf(item.text) : eventError(item.error)
    return nextFrame(item.position === undefined ? undefined : toCursor(item.position), result)
  }
}
