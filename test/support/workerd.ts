/**
 * What every workerd target of the tests shares: an entry bundled as wrangler bundles it, and the
 * Miniflare settings the shipped wrangler.toml gives (compatibility date and flags), on loopback.
 */
import { build } from 'esbuild'

const bundles = new Map<string, Promise<string>>()

/** `entry` (a file URL or path) bundled once per test file, with node:async_hooks left to the nodejs_als flag. */
export function bundleForWorkerd(entry: URL): Promise<string> {
  const key = entry.href
  let bundle = bundles.get(key)
  if (bundle === undefined) {
    bundle = build({
      entryPoints: [entry.pathname],
      bundle: true,
      format: 'esm',
      platform: 'browser',
      conditions: ['workerd', 'worker', 'browser'],
      external: ['node:async_hooks'],
      target: 'es2022',
      write: false,
      logLevel: 'silent',
    }).then((result) => result.outputFiles[0]!.text)
    bundles.set(key, bundle)
  }
  return bundle
}

/** Miniflare options as wrangler.toml sets them, serving on a free loopback port. */
export const WORKERD_OPTIONS = {
  compatibilityDate: '2026-04-20',
  compatibilityFlags: ['enable_request_signal', 'nodejs_als'],
  host: '127.0.0.1',
  port: 0,
}
