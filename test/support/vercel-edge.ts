import { build } from 'esbuild'
import { EdgeRuntime, createHandler } from 'edge-runtime'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { fileURLToPath } from 'node:url'
import type { Env } from '../../src/config'
import type { Target } from './targets'

let edgeBundle: Promise<string> | undefined

/**
 * The Vercel Edge function (`api/graphql-stream-edge.ts`) bundled for the Edge
 * runtime, with the fetch-event registration Vercel's own build adds: edge-runtime
 * evaluates scripts, not modules.
 */
function bundleVercelEdge(): Promise<string> {
  edgeBundle ??= build({
    stdin: {
      contents: `import handler from './api/graphql-stream-edge'
addEventListener('fetch', (event) => event.respondWith(handler(event.request)))`,
      resolveDir: fileURLToPath(new URL('../..', import.meta.url)),
      loader: 'ts',
    },
    bundle: true,
    format: 'iife',
    platform: 'browser',
    conditions: ['edge-light', 'worker', 'browser'],
    target: 'es2022',
    write: false,
    logLevel: 'silent',
  }).then((result) => result.outputFiles[0]!.text)
  return edgeBundle
}

/**
 * The Edge entry inside Vercel's `edge-runtime` (the VM with the Edge globals and no
 * code generation), served over HTTP on 127.0.0.1. Vercel passes environment
 * variables as `process.env`, so the VM gets exactly that.
 */
export async function startVercelEdge(env: Env): Promise<Target> {
  const runtime = new EdgeRuntime({
    initialCode: await bundleVercelEdge(),
    extend: (context) => Object.assign(context, { process: { env: { LOG_LEVEL: 'silent', ...env } } }),
  })
  const { handler } = createHandler({ runtime })
  const server = createServer(handler)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    name: 'edge',
    baseUrl: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      }),
  }
}
