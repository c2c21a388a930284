/**
 * docs/clients.md's graphql-sse example for Node, as a file run by plain `node`: with an
 * absolute url it receives the subscription's results. Only the address and the subscription
 * differ from the doc.
 */
import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, inject, it } from 'vitest'
import { connectJetStream } from '../support/jetstream'
import { uniqueName } from '../support/random'
import { eventsQuery, testSchema } from '../support/schemas'
import { startTarget } from '../support/targets'

const root = fileURLToPath(new URL('../..', import.meta.url))
const clients = readFileSync(join(root, 'docs/clients.md'), 'utf8')
const nodeExample = clients.match(/```js\n(\/\/ subscribe\.mjs[\s\S]*?)```/)![1]!

describe('graphql-sse from Node (docs/clients.md)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'edge-stream-graphql-sse-'))
  // The example imports graphql-sse as an installed package.
  symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'))
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  it('receives results with the absolute url', async () => {
    const natsUrl = inject('natsWsUrl')
    const admin = await connectJetStream(natsUrl)
    const stream = uniqueName('gsse')
    await admin.createStream({ name: stream, subjects: [`t.${stream}.>`] })
    const target = await startTarget('node', { SCHEMA: testSchema, NATS_DEFAULT_URL: natsUrl })
    const file = join(dir, 'subscribe.mjs')
    writeFileSync(
      file,
      nodeExample
        .replace('http://127.0.0.1:8787', target.baseUrl)
        .replace('subscription { employeeUpdated(id: 1) { id name } }', eventsQuery(stream, 'a')),
    )
    const child = spawn(process.execPath, [file], { cwd: dir, stdio: ['ignore', 'pipe', 'inherit'] })
    try {
      // A live subscription starts at the head: publish once its consumer is on the broker.
      await expect.poll(() => admin.consumerCount(stream), { timeout: 20_000, interval: 50 }).toBe(1)
      await admin.publish(`t.${stream}.a`, [{ n: 1 }, { n: 2 }, { n: 3 }])
      const results: unknown[] = []
      for await (const line of createInterface({ input: child.stdout })) {
        results.push(JSON.parse(line))
        if (results.length === 3) break
      }
      expect(results).toEqual([1, 2, 3].map((n) => ({ data: { events: { n } } })))
    } finally {
      child.kill()
      await target.close()
      await admin.close()
    }
  })
})
