import { serve } from '@hono/node-server'
import { build } from 'esbuild'
import { Miniflare } from 'miniflare'
import type { AddressInfo } from 'node:net'
import { fileURLToPath } from 'node:url'
import { sharedConnection } from '../../src/providers/nats/nats-connection'
import { nodeUpstashClient } from '../../src/providers/redis/upstash-node'
import { createServerFromEnv } from '../../src/setup'
import type { Env } from '../../src/config/env'
import { startVercelEdge } from './vercel-edge'

/**
 * A running instance of the function: the Node entry in-process, the Workers entry
 * inside workerd, or the Vercel Edge entry inside Vercel's edge-runtime.
 */
export interface Target {
  name: string
  baseUrl: string
  close(): Promise<void>
}

export type TargetName = 'node' | 'workerd' | 'edge'

export function startTarget(name: TargetName, env: Env): Promise<Target> {
  if (name === 'edge') return startVercelEdge(env)
  return name === 'node' ? startNode(env) : startWorkerd(env)
}

async function startNode(env: Env): Promise<Target> {
  // As the Node entry builds it (src/runtime/node.ts): its streams share a NATS connection,
  // and its live streams of one route share one reader.
  const { app } = createServerFromEnv(
    { LOG_LEVEL: 'silent', ...env },
    { upstashClient: nodeUpstashClient, natsConnector: sharedConnection, shareLiveReads: true },
  )
  const server = await new Promise<ReturnType<typeof serve>>((resolve) => {
    const s = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(s))
  })
  const { port } = server.address() as AddressInfo
  return {
    name: 'node',
    baseUrl: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve())
        if ('closeAllConnections' in server) server.closeAllConnections()
      }),
  }
}

let workerBundle: Promise<string> | undefined

/** The Workers entry bundled as wrangler would, run by the real workerd through Miniflare. */
export function bundleWorker(): Promise<string> {
  workerBundle ??= build({
    entryPoints: [fileURLToPath(new URL('../../src/runtime/workers.ts', import.meta.url))],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    conditions: ['workerd', 'worker', 'browser'],
    target: 'es2022',
    write: false,
    logLevel: 'silent',
  }).then((result) => result.outputFiles[0]!.text)
  return workerBundle
}

async function startWorkerd(env: Env): Promise<Target> {
  const mf = new Miniflare({
    modules: true,
    script: await bundleWorker(),
    compatibilityDate: '2026-04-20',
    compatibilityFlags: ['enable_request_signal'],
    bindings: { LOG_LEVEL: 'silent', ...env } as Record<string, string>,
    host: '127.0.0.1',
    port: 0,
  })
  const url = await mf.ready
  return { name: 'workerd', baseUrl: url.origin, close: () => mf.dispose() }
}
