/**
 * The Vercel Node.js function (`api/graphql-stream.ts`) as Vercel calls it: its exported
 * method handlers get Web Requests, configuration comes from process.env, and the stream
 * reads the real nats-server. (The Edge function runs inside edge-runtime: see targets.)
 */
import { serve } from '@hono/node-server'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest'
import * as vercelFunction from '../../api/graphql-stream'
import { connectJetStream, uniqueName, type JetStreamAdmin } from '../support/jetstream'
import { eventsQuery, streamUrl, testSchema } from '../support/schemas'
import { openSse, readNextEvents } from '../support/sse-client'

const handlers: Record<string, (request: Request) => Response | Promise<Response>> = vercelFunction

describe('Vercel Node.js function', () => {
  const dir = mkdtempSync(join(tmpdir(), 'edge-stream-vercel-'))
  let admin: JetStreamAdmin
  let server: ReturnType<typeof serve>
  let baseUrl: string

  beforeAll(async () => {
    admin = await connectJetStream(inject('natsWsUrl'))
    // Vercel answers 405 itself for a method the function does not export.
    server = serve({
      fetch: (request) => handlers[request.method]?.(request) ?? new Response(null, { status: 405 }),
      port: 0,
      hostname: '127.0.0.1',
    })
    await new Promise((resolve) => server.once('listening', resolve))
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  })
  afterAll(async () => {
    server?.close()
    if (server && 'closeAllConnections' in server) server.closeAllConnections()
    await admin?.close()
    rmSync(dir, { recursive: true, force: true })
  })

  it('answers 500 while misconfigured, then serves GET, POST and OPTIONS from process.env with SCHEMA_PATH', async () => {
    const errors = vi.spyOn(console, 'error').mockImplementation(() => {})
    const schemaPath = join(dir, 'subgraph.graphql')
    writeFileSync(schemaPath, testSchema)
    vi.stubEnv('SCHEMA_PATH', schemaPath)
    vi.stubEnv('NATS_DEFAULT_URL', inject('natsWsUrl'))
    vi.stubEnv('CORS_ORIGINS', 'https://app.example')
    vi.stubEnv('LOG_LEVEL', 'silent')
    vi.stubEnv('MAX_STREAM_SECONDS', 'soon')
    try {
      const misconfigured = await fetch(streamUrl(baseUrl, eventsQuery('x', 'a')))
      expect(misconfigured.status).toBe(500)
      expect(await misconfigured.json()).toEqual({ errors: [{ message: 'The server is misconfigured', extensions: { code: 'INTERNAL_SERVER_ERROR' } }] })
      expect(errors).toHaveBeenCalledWith(expect.stringContaining('invalid configuration: MAX_STREAM_SECONDS'))
      vi.stubEnv('MAX_STREAM_SECONDS', '60')

      const stream = uniqueName('vercelnode')
      await admin.createStream({ name: stream, subjects: [`t.${stream}.>`] })
      await admin.publish(`t.${stream}.a`, Array.from({ length: 10 }, (_, i) => ({ n: i + 1 })))
      const query = eventsQuery(stream, 'a')
      const first = await openSse(streamUrl(baseUrl, query, { from: 'earliest' }))
      const before = await readNextEvents(first, 4)
      first.cut()
      const second = await openSse(`${baseUrl}/graphql/stream`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'Last-Event-ID': before.at(-1)!.id! },
        body: JSON.stringify({ query }),
      })
      const after = await readNextEvents(second, 6)
      second.cut()
      expect([...before, ...after].map((e) => JSON.parse(e.data).data.events.n)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10])

      const preflight = await fetch(`${baseUrl}/graphql/stream`, {
        method: 'OPTIONS',
        headers: { Origin: 'https://app.example', 'Access-Control-Request-Method': 'GET', 'Access-Control-Request-Headers': 'last-event-id' },
      })
      expect(preflight.headers.get('access-control-allow-origin')).toBe('https://app.example')
      expect(preflight.headers.get('access-control-allow-headers')?.toLowerCase()).toContain('last-event-id')
    } finally {
      vi.unstubAllEnvs()
      errors.mockRestore()
    }
  })
})
