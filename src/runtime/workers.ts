/**
 * Cloudflare Workers entry. The app is built once per isolate from the wrangler
 * vars; NATS connections are opened per stream (workerd cannot share I/O objects
 * between requests). A Cosmo execution config is too large for a var (5 KB): it is
 * uploaded as a Text module (wrangler's `rules`, docs/deploy-cloudflare.md) and
 * EXECUTION_CONFIG_FILE_PATH names that module, imported here before the first build.
 *
 * Each invocation (one stream) gets a SubrequestBudget of MAX_SUBREQUESTS, found through
 * AsyncLocalStorage (the `nodejs_als` flag, no Node polyfills) by the global fetch and WebSocket,
 * which charge it: the stream ends cleanly before the platform would fail a request.
 */
import { AsyncLocalStorage } from 'node:async_hooks'
import type { ExecutionContext } from 'hono'
import { ConfigError, type Env } from '../config/env'
import { errorBody } from '../errors'
import { chargeOutgoingRequests, SubrequestBudget } from '../edge/subrequest-budget'
import { fetchProbe, probeProviders } from '../probes/provider-probes'
import { cloudflareUpstashClient } from '../providers/redis/upstash-cloudflare'
import { createServerFromEnv, type Server } from '../setup'

let server: Promise<Server> | undefined
/** The brokers are probed once per isolate, at its first request (a Worker has no start of its own). */
let probed = false
const invocation = new AsyncLocalStorage<SubrequestBudget>()
chargeOutgoingRequests(() => invocation.getStore())

export default {
  async fetch(request: Request, env: Env, ctx: ExecutionContext): Promise<Response> {
    let built: Server
    try {
      server ??= buildServer(pickStrings(env))
      built = await server
    } catch (error) {
      console.error(`edge-stream: invalid configuration: ${error instanceof ConfigError ? error.message : String(error)}`)
      return Response.json(errorBody('INTERNAL_SERVER_ERROR', 'The server is misconfigured'), { status: 500 })
    }
    if (!probed) {
      probed = true
      // Outside the request's budget: the probes are the isolate's, not the stream's.
      ctx.waitUntil(probeProviders(built.probeTargets, fetchProbe, built.log))
    }
    const budget = new SubrequestBudget(built.config.maxSubrequests)
    return invocation.run(budget, () => built.app.fetch(request, env, ctx))
  },
}

async function buildServer(env: Env): Promise<Server> {
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
    upstashClient: cloudflareUpstashClient,
    streamBudget: () => invocation.getStore(),
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
