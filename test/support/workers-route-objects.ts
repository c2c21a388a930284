import { Miniflare } from 'miniflare'
import type { Env } from '../../src/config/env'
import type { Target } from './targets'
import { bundleForWorkerd, WORKERD_OPTIONS } from './workerd'

export interface RouteObjectsTarget extends Target {
  /** Aborts the Durable Object of the route named `name` (routeObjectName). */
  abortRoute(name: string): Promise<void>
}

/** The Workers entry in workerd with the ROUTE_READERS Durable Object bound, as the shipped wrangler.toml has it. */
export async function startWorkerWithRouteObjects(env: Env): Promise<RouteObjectsTarget> {
  const mf = new Miniflare({
    modules: [{ type: 'ESModule', path: 'workers.js', contents: await bundleForWorkerd(new URL('./workers-route-entry.ts', import.meta.url)) }],
    ...WORKERD_OPTIONS,
    durableObjects: { ROUTE_READERS: 'AbortableRouteReader' },
    bindings: { LOG_LEVEL: 'silent', ...env } as Record<string, string>,
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
