import { build } from 'esbuild'
import { EdgeRuntime, createHandler } from 'edge-runtime'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { buildVercelOutput, FUNCTION_DIR } from '../../scripts/vercel-output'
import type { Env } from '../../src/config/env'
import type { BundledConfig, Target } from './targets'

const edgeBundles = new Map<string, Promise<string>>()

/**
 * The Edge function exactly as scripts/vercel-output.ts writes it for Vercel, with the
 * fetch-event registration Vercel adds around an Edge function: edge-runtime evaluates
 * scripts, not modules.
 */
function bundleVercelEdge(executionConfig?: BundledConfig): Promise<string> {
  const key = executionConfig ? `${executionConfig.path}\n${executionConfig.text}` : ''
  let edgeBundle = edgeBundles.get(key)
  if (edgeBundle) return edgeBundle
  edgeBundle = (async () => {
    const dir = mkdtempSync(join(tmpdir(), 'edge-stream-vercel-edge-'))
    const outDir = join(dir, 'output')
    await buildVercelOutput({ outDir, runtime: 'edge', ...(executionConfig ? { executionConfig } : {}) })
    const result = await build({
      stdin: {
        contents: `import handler from './index.js'
addEventListener('fetch', (event) => event.respondWith(handler(event.request)))`,
        resolveDir: join(outDir, FUNCTION_DIR),
      },
      bundle: true,
      format: 'iife',
      platform: 'browser',
      target: 'es2022',
      write: false,
      logLevel: 'silent',
    })
    rmSync(dir, { recursive: true, force: true })
    return result.outputFiles[0]!.text
  })()
  edgeBundles.set(key, edgeBundle)
  return edgeBundle
}

/**
 * The Edge entry inside Vercel's `edge-runtime` (the VM with the Edge globals and no
 * code generation), served over HTTP on 127.0.0.1. Vercel passes environment
 * variables as `process.env`, so the VM gets exactly that.
 */
export async function startVercelEdge(env: Env, executionConfig?: BundledConfig): Promise<Target> {
  const runtime = new EdgeRuntime({
    initialCode: await bundleVercelEdge(executionConfig),
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
