import { build } from 'esbuild'
import { Miniflare } from 'miniflare'
import { fileURLToPath } from 'node:url'
import type { Env } from '../../src/config/env'
import type { PlatformStats } from './workers-platform-limits'
import type { Target } from './targets'

export interface LimitedTarget extends Target {
  /** What the platform limits saw so far. */
  stats(): Promise<PlatformStats>
}

let bundle: Promise<string> | undefined

/** The Workers entry in workerd with Cloudflare's subrequest and connection limits (workers-limits-entry.ts). */
export async function startLimitedWorker(env: Env, platformSubrequests: number): Promise<LimitedTarget> {
  bundle ??= build({
    entryPoints: [fileURLToPath(new URL('./workers-limits-entry.ts', import.meta.url))],
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
    bindings: { LOG_LEVEL: 'silent', PLATFORM_SUBREQUESTS: String(platformSubrequests), ...env } as Record<string, string>,
    host: '127.0.0.1',
    port: 0,
  })
  const url = await mf.ready
  return {
    name: 'workerd',
    baseUrl: url.origin,
    close: () => mf.dispose(),
    stats: async () => (await (await fetch(`${url.origin}/__platform-limits`)).json()) as PlatformStats,
  }
}
