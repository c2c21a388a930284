import { serve } from '@hono/node-server'
import { Miniflare } from 'miniflare'
import type { AddressInfo } from 'node:net'
import { readFileSync } from 'node:fs'
import { sharedConnection } from '../../src/providers/nats/nats-connection'
import { nodeUpstashClient } from '../../src/providers/redis/upstash-node'
import { createServerFromEnv } from '../../src/setup'
import { nodeEventStreams } from '../../src/sse/node-response'
import type { Env } from '../../src/config/env'
import { startVercelEdge } from './vercel-edge'
import { bundleForWorkerd, WORKERD_OPTIONS } from './workerd'

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

/**
 * A Cosmo execution config, delivered as each runtime gets it: read from its file on Node, a Text
 * module of the upload on Workers, bundled by the build on Vercel. `env` gets its
 * EXECUTION_CONFIG_FILE_PATH.
 */
export interface BundledConfig {
  path: string
  text: string
}

export function startTarget(name: TargetName, env: Env, executionConfig?: BundledConfig): Promise<Target> {
  const withConfig = executionConfig ? { ...env, EXECUTION_CONFIG_FILE_PATH: name === 'workerd' ? './config.json' : executionConfig.path } : env
  if (name === 'edge') return startVercelEdge(withConfig, executionConfig)
  return name === 'node' ? startNode(withConfig) : startWorkerd(withConfig, executionConfig)
}

async function startNode(env: Env): Promise<Target> {
  // As the Node entry builds it (src/runtime/node.ts): its streams share a NATS connection (and
  // one for their API requests), its live streams of one route share one reader, and write to their ServerResponse.
  const eventStreams = nodeEventStreams()
  const { app } = createServerFromEnv(
    { LOG_LEVEL: 'silent', ...env },
    {
      upstashClient: nodeUpstashClient,
      natsConnector: (settings, pingIntervalMs) => sharedConnection(settings, pingIntervalMs, { apiConnection: 'own' }),
      shareLiveReads: true,
      readFile: (path) => readFileSync(path, 'utf8'),
      eventStreamResponse: eventStreams.eventStreamResponse,
    },
  )
  const server = await new Promise<ReturnType<typeof serve>>((resolve) => {
    const s = serve({ fetch: eventStreams.fetch(app.fetch), port: 0, hostname: '127.0.0.1' }, () => resolve(s))
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

/** The Workers entry bundled as wrangler would, run by the real workerd through Miniflare. */
export function bundleWorker(): Promise<string> {
  return bundleForWorkerd(new URL('../../src/runtime/workers.ts', import.meta.url))
}

async function startWorkerd(env: Env, executionConfig?: BundledConfig): Promise<Target> {
  const script = await bundleWorker()
  const mf = new Miniflare({
    // As wrangler uploads them: the bundle, and the config as a Text module (`rules`, find_additional_modules).
    modules: [
      { type: 'ESModule', path: 'workers.js', contents: script },
      ...(executionConfig ? [{ type: 'Text' as const, path: 'config.json', contents: executionConfig.text }] : []),
    ],
    ...WORKERD_OPTIONS,
    bindings: { LOG_LEVEL: 'silent', ...env } as Record<string, string>,
  })
  const url = await mf.ready
  return { name: 'workerd', baseUrl: url.origin, close: () => mf.dispose() }
}
