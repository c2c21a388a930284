/**
 * The Vercel deployment as scripts/vercel-output.ts writes it (Build Output API v3), and
 * its Node.js function run as Vercel's Node.js launcher runs it: the bundle's default
 * export handles Node's request and response in a plain Node process, configuration
 * comes from process.env, and the stream reads the real nats-server. (The Edge function runs inside
 * edge-runtime as the `edge` target of the JetStream and browser suites.)
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { gzipSync } from 'node:zlib'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { buildVercelOutput, FUNCTION_DIR } from '../../scripts/vercel-output'
import { expectQuotedKiB, quotedFigures } from '../support/doc-figures'
import { connectJetStream, type JetStreamAdmin } from '../support/jetstream'
import { freePort } from '../support/ports'
import { startProcess } from '../support/processes'
import { eventsQuery, streamUrl, testSchema } from '../support/schemas'
import { openSse, readNextEvents } from '../support/sse-client'
import { uniqueName } from '../support/random'

const readJson = (path: string): unknown => JSON.parse(readFileSync(path, 'utf8'))

describe('Vercel Build Output', () => {
  const dir = mkdtempSync(join(tmpdir(), 'edge-stream-vercel-'))
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  it('writes the Edge function at /graphql/stream', async () => {
    const outDir = join(dir, 'edge')
    await buildVercelOutput({ outDir, runtime: 'edge' })
    expect(readJson(join(outDir, 'config.json'))).toEqual({ version: 3 })
    expect(readJson(join(outDir, FUNCTION_DIR, '.vc-config.json'))).toEqual({ runtime: 'edge', entrypoint: 'index.js' })
    // An Edge function has no Node built-ins.
    expect(readFileSync(join(outDir, FUNCTION_DIR, 'index.js'), 'utf8')).not.toMatch(/^import[^;]*["']node:/m)
    const [, edgeGzipKiB] = quotedFigures('docs/deploy-vercel.md', /about ([\d,]+) \/ ([\d,]+) KiB gzipped/)
    expectQuotedKiB(edgeGzipKiB!, gzipSync(readFileSync(join(outDir, FUNCTION_DIR, 'index.js'))).length, 'deploy-vercel.md, Edge')
  })

  describe('Node.js function', () => {
    const outDir = join(dir, 'nodejs')
    let admin: JetStreamAdmin

    beforeAll(async () => {
      await buildVercelOutput({ outDir, runtime: 'nodejs', maxDurationSeconds: 800 })
      admin = await connectJetStream(inject('natsWsUrl'))
    })
    afterAll(async () => {
      await admin?.close()
    })

    /**
     * The bundle in a plain Node process (no global WebSocket before Node 22, nothing from
     * the test setup), its default export serving HTTP as Vercel's launcher calls it.
     */
    async function runFunction(env: Record<string, string>) {
      const port = await freePort()
      const bundle = pathToFileURL(join(outDir, FUNCTION_DIR, 'index.mjs')).href
      const script = `import { createServer } from 'node:http'
const { default: listener } = await import(${JSON.stringify(bundle)})
createServer(listener).listen(${port}, '127.0.0.1', () => console.log('listening'))`
      const running = await startProcess(process.execPath, ['--input-type=module', '-e', script], /listening/, {
        env: { PATH: process.env.PATH, LOG_LEVEL: 'silent', ...env },
      })
      let stderr = ''
      running.child.stderr?.on('data', (chunk) => (stderr += chunk))
      return { baseUrl: `http://127.0.0.1:${port}`, stderr: () => stderr, stop: running.stop }
    }

    it('is the size the guide quotes', () => {
      const [nodeGzipKiB] = quotedFigures('docs/deploy-vercel.md', /about ([\d,]+) \/ ([\d,]+) KiB gzipped/)
      expectQuotedKiB(nodeGzipKiB!, gzipSync(readFileSync(join(outDir, FUNCTION_DIR, 'index.mjs'))).length, 'deploy-vercel.md, Node.js')
    })

    it('is configured for Vercel’s Node.js launcher with response streaming', () => {
      expect(readJson(join(outDir, 'config.json'))).toEqual({ version: 3 })
      expect(readJson(join(outDir, FUNCTION_DIR, '.vc-config.json'))).toEqual({
        runtime: 'nodejs22.x',
        handler: 'index.mjs',
        launcherType: 'Nodejs',
        shouldAddHelpers: false,
        supportsResponseStreaming: true,
        maxDuration: 800,
      })
    })

    it('answers 500 while misconfigured and names the variable in its log', async () => {
      const fn = await runFunction({ SCHEMA: testSchema, NATS_DEFAULT_URL: inject('natsWsUrl'), MAX_STREAM_SECONDS: 'soon' })
      try {
        const response = await fetch(streamUrl(fn.baseUrl, eventsQuery('x', 'a')))
        expect(response.status).toBe(500)
        expect(await response.json()).toEqual({ errors: [{ message: 'The server is misconfigured', extensions: { code: 'INTERNAL_SERVER_ERROR' } }] })
        await expect.poll(fn.stderr).toContain('invalid configuration: MAX_STREAM_SECONDS')
      } finally {
        await fn.stop()
      }
    })

    it('serves GET, POST and OPTIONS from process.env, resumes, and releases the consumer of a gone client', async () => {
      const fn = await runFunction({ SCHEMA: testSchema, NATS_DEFAULT_URL: inject('natsWsUrl'), CORS_ORIGINS: 'https://app.example' })
      try {
        const stream = uniqueName('vercelnode')
        await admin.createStream({ name: stream, subjects: [`t.${stream}.>`] })
        await admin.publish(`t.${stream}.a`, Array.from({ length: 10 }, (_, i) => ({ n: i + 1 })))
        const query = eventsQuery(stream, 'a')
        const first = await openSse(streamUrl(fn.baseUrl, query, { from: 'earliest' }))
        const before = await readNextEvents(first, 4)
        first.cut()
        const second = await openSse(`${fn.baseUrl}/graphql/stream`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json', 'Last-Event-ID': before.at(-1)!.id! },
          body: JSON.stringify({ query }),
        })
        const after = await readNextEvents(second, 6)
        second.cut()
        expect([...before, ...after].map((e) => JSON.parse(e.data).data.events.n)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10])
        // Node's response close aborts the request, and the stream's consumer goes with it.
        await expect.poll(() => admin.consumerCount(stream), { timeout: 10_000, interval: 50 }).toBe(0)

        const preflight = await fetch(`${fn.baseUrl}/graphql/stream`, {
          method: 'OPTIONS',
          headers: { Origin: 'https://app.example', 'Access-Control-Request-Method': 'GET', 'Access-Control-Request-Headers': 'last-event-id' },
        })
        expect(preflight.headers.get('access-control-allow-origin')).toBe('https://app.example')
        expect(preflight.headers.get('access-control-allow-headers')?.toLowerCase()).toContain('last-event-id')
      } finally {
        await fn.stop()
      }
    })
  })
})
