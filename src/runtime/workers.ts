/**
 * Cloudflare Workers entry. The app is built once per isolate from the wrangler
 * vars; NATS connections are opened per stream (workerd cannot share I/O objects
 * between requests).
 */
import type { ExecutionContext } from 'hono'
import { ConfigError, type Env } from '../config/env'
import { errorBody } from '../errors'
import { cloudflareUpstashClient } from '../providers/redis/upstash-cloudflare'
import { createServerFromEnv, type Server } from '../setup'

let server: Server | undefined

export default {
  fetch(request: Request, env: Env, ctx: ExecutionContext): Response | Promise<Response> {
    try {
      server ??= createServerFromEnv(pickStrings(env), { upstashClient: cloudflareUpstashClient })
    } catch (error) {
      console.error(`edge-stream: invalid configuration: ${error instanceof ConfigError ? error.message : String(error)}`)
      return Response.json(errorBody('INTERNAL_SERVER_ERROR', 'The server is misconfigured'), { status: 500 })
    }
    return server.app.fetch(request, env, ctx)
  },
}

/** Bindings may hold objects (KV, secrets store); only strings are configuration. */
function pickStrings(env: Env): Env {
  return Object.fromEntries(Object.entries(env).filter(([, value]) => typeof value === 'string'))
}
