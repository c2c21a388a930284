import { Miniflare } from 'miniflare'
import type { Env } from '../../src/config/env'
import type { PlatformStats } from './workers-platform-limits'
import type { Target } from './targets'
import { bundleForWorkerd, WORKERD_OPTIONS } from './workerd'

export interface LimitedTarget extends Target {
  /** What the platform limits saw so far. */
  stats(): Promise<PlatformStats>
}

/** The Workers entry in workerd with Cloudflare's subrequest and connection limits (workers-limits-entry.ts). */
export async function startLimitedWorker(env: Env, platformSubrequests: number): Promise<LimitedTarget> {
  const mf = new Miniflare({
    modules: [{ type: 'ESModule', path: 'workers.js', contents: await bundleForWorkerd(new URL('./workers-limits-entry.ts', import.meta.url)) }],
    ...WORKERD_OPTIONS,
    bindings: { LOG_LEVEL: 'silent', PLATFORM_SUBREQUESTS: String(platformSubrequests), ...env } as Record<string, string>,
  })
  const url = await mf.ready
  return {
    name: 'workerd',
    baseUrl: url.origin,
    close: () => mf.dispose(),
    stats: async () => (await (await fetch(`${url.origin}/__platform-limits`)).json()) as PlatformStats,
  }
}
