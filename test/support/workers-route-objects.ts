import { build } from 'esbuild'
import { Miniflare } from 'miniflare'
import { fileURLToPath } from 'node:url'
import type { Env } from '../../src/config/env'
import type { Target } from './targets'

export interface RouteObjectsTarget extends Target {
  /** Aborts the Durable Object of the route named `name` (routeObjectName). */
  abortRoute(name: string): Promise<void>
}

let bundle: Promise<string> | undefined

/** The Workers entry in workerd with the ROUTE_READERS Durable Object bound, as the shipped wrangler.toml has it. */
export async function startWorkerWithRouteObjects(env: Env): Promise<RouteObjectsTarget> {
  bundle ??= build({
    entryPoints: [fileURLToPath(new URL('./workers-route-entry.ts', import.meta.url))],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    conditions: ['workerd', 'worker', 'browser'],
    external: ['node:async_hooks'],
    target: 'es2022',
    write: false,
    logLevel: 'silent',
  }).then((result) => result.outputFiles[0]!.text)
  const mf = new Miniflare({
    modules: [{ type: 'ESModule', path: 'workers.js', contents: await bundle }],
    compatibilityDate: '2026-04-20',
    compatibilityFlags: ['enable_request_signal', 'nodejs_als'],
    durableObjects: { ROUTE_READERS: 'AbortableRouteReader' },
    bindings: { LOG_LEVEL: 'silent', ...env } as Record<string, string>,
    host: '127.0.0.1',
    port: 0,
  })
  const url = await mf.ready
  return {
    name: 'workerd',
    baseUrl: url.origin,
    close: () => mf.dispose(),
    abortRoute: async (name) => {
      await (await fetch(`${url.origin}/__abort-route`, { method: 'POST', body: name })).text()
    },
  }
}
