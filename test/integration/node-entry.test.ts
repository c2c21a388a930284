/** `npm start` as a newcomer runs it: the Node entry as a child process. */
import { describe, expect, it } from 'vitest'
import { nodeEntry, runNodeEntryToExit } from '../support/node-entry'
import { freePort } from '../support/ports'
import { startProcess } from '../support/processes'
import { openSse, readNextEvents } from '../support/sse-client'

const entry = nodeEntry
const runToExit = runNodeEntryToExit

describe('Node entry', () => {
  it.each([
    ['HEARTBEAT_SECONDS', 'soon'],
    ['PORT', '70000'],
    ['MAX_STREAM_SECONDS', '-1'],
    ['CURSOR_KEYS', 'k:short'],
    ['NATS_DEFAULT_URL', 'http://not-websocket'],
    ['LOG_LEVEL', 'loud'],
  ])('fails at start with one message naming %s', async (variable, value) => {
    const { code, output } = await runToExit({ [variable]: value, SCHEMA_PATH: '', SCHEMA: '' })
    expect(code).toBe(1)
    expect(output.trim().split('\n')).toHaveLength(1)
    expect(output).toContain(`invalid configuration: ${variable}`)
  })

  it('names the missing broker URL of a schema provider', async () => {
    const { code, output } = await runToExit({
      SCHEMA: 'type Query { a: Int } type Subscription { s: Int @edfs__natsSubscribe(subjects: ["x"], providerId: "orders-eu") }',
    })
    expect(code).toBe(1)
    expect(output).toContain('NATS_ORDERS_EU_URL')
  })

  it('serves the demo page and ticking, resumable events with no configuration', async () => {
    const port = await freePort()
    const server = await startProcess(process.execPath, entry, /edge-stream demo: open/, {
      env: { ...process.env, PORT: String(port), SCHEMA: '', SCHEMA_PATH: '', NATS_DEFAULT_URL: '' },
    })
    try {
      const page = await fetch(`http://127.0.0.1:${port}/`)
      expect(page.headers.get('content-type')).toMatch(/text\/html/)
      expect(await page.text()).toContain("new EventSource('/graphql/stream?'")

      const url = `http://127.0.0.1:${port}/graphql/stream?${new URLSearchParams({ query: 'subscription { tick { n } }', from: 'earliest' })}`
      const first = await openSse(url)
      const [one] = await readNextEvents(first, 1)
      first.cut()
      const resumed = await openSse(url, { headers: { 'Last-Event-ID': one!.id! } })
      const [two] = await readNextEvents(resumed, 1)
      resumed.cut()
      expect(JSON.parse(two!.data).data.tick.n).toBe(JSON.parse(one!.data).data.tick.n + 1)
    } finally {
      await server.stop()
    }
  })
})
