/**
 * The Workers entry with its RouteReader Durable Object, for tests in workerd, plus what only
 * tests may do: `POST /__abort-route` with a route object's name aborts that object (as an
 * eviction or a crash would end it).
 */
import worker, { RouteReader } from '../../src/runtime/workers'
import type { ExecutionContext } from 'hono'

interface ObjectState {
  abort(reason?: string): void
}

interface Namespace {
  idFromName(name: string): unknown
  get(id: unknown): { fetch(url: string, init?: RequestInit): Promise<Response> }
}

export class AbortableRouteReader extends RouteReader {
  constructor(
    private readonly state: ObjectState,
    env: Record<string, string | undefined>,
  ) {
    super(state, env)
  }

  override async fetch(request: Request): Promise<Response> {
    if (new URL(request.url).pathname !== '/__abort') return super.fetch(request)
    this.state.abort('aborted by the test')
    return new Response('not reached')
  }
}

export default {
  async fetch(request: Request, env: Record<string, string | undefined>, ctx: ExecutionContext): Promise<Response> {
    if (new URL(request.url).pathname !== '/__abort-route') return worker.fetch(request, env, ctx)
    const readers = (env as unknown as { ROUTE_READERS: Namespace }).ROUTE_READERS
    try {
      await readers.get(readers.idFromName(await request.text())).fetch('https://route-reader/__abort', { method: 'POST' })
    } catch {
      // the object was reset: the call fails, as it should
    }
    return new Response('aborted')
  },
}
