/**
 * Vercel entry, for both of its runtimes. Vercel hands configuration to a function
 * as environment variables in `process.env` (on Edge too), and a function module is
 * imported before its first request, so the app is built at that first request: a
 * bad variable then answers 500 with the reason in the function's log, as on Workers,
 * instead of a module that fails to load. NATS connections are opened per stream.
 *
 * The default export is the Edge function, where WebSocket is global; `vercel-node.ts`
 * adds what the Node.js runtime lacks. scripts/vercel-output.ts bundles either.
 */
import { handle } from 'hono/vercel'
import { ConfigError, type Env } from '../config/env'
import { errorBody } from '../errors'
import { nodeUpstashClient } from '../providers/redis/upstash-node'
import { createServerFromEnv, type Platform } from '../setup'

export type VercelHandler = (request: Request) => Response | Promise<Response>

/** Files scripts/vercel-output.ts put into the bundle (the execution config), by the path that names them. */
declare const EDGE_STREAM_BUNDLED_FILES: Record<string, string> | undefined
const bundledFiles: Record<string, string> = typeof EDGE_STREAM_BUNDLED_FILES === 'undefined' ? {} : EDGE_STREAM_BUNDLED_FILES

export function readBundledFile(path: string): string {
  const text = bundledFiles[path]
  if (text === undefined) throw new Error(`${path} is not bundled`)
  return text
}

/**
 * `defaults` apply where the environment sets nothing: each runtime's MAX_STREAM_SECONDS
 * ends streams gracefully before the platform's own limit would cut them.
 * `@upstash/redis`'s default build is made for both Vercel runtimes.
 */
export function createVercelHandler(defaults: Env, platform: Platform = { upstashClient: nodeUpstashClient, readFile: readBundledFile }): VercelHandler {
  let handler: VercelHandler | undefined
  return (request) => {
    try {
      handler ??= handle(createServerFromEnv({ ...defaults, ...process.env }, platform).app)
    } catch (error) {
      console.error(`edge-stream: invalid configuration: ${error instanceof ConfigError ? error.message : String(error)}`)
      return Response.json(errorBody('INTERNAL_SERVER_ERROR', 'The server is misconfigured'), { status: 500 })
    }
    return handler(request)
  }
}

/** Edge functions may stream for about 300 s. */
export default createVercelHandler({ MAX_STREAM_SECONDS: '280' })
