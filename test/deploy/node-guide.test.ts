/**
 * docs/deploy-node.md as a reader follows it, without the `nats` CLI: the guide's schema, its
 * `npm run nats:*` lines run as written by a shell, the Node entry, the stream, and the resume
 * with the last id. Only the addresses change: the real nats-server's WebSocket URL for the
 * guide's ws://127.0.0.1:8080, and a free port for 8787.
 */
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { connectJetStream } from '../support/jetstream'
import { currentNatsServerBinary, startNatsServer, type NatsServer } from '../support/nats-server'
import { freePort } from '../support/ports'
import { startProcess } from '../support/processes'
import { openSse, readNextEvents } from '../support/sse-client'

const root = fileURLToPath(new URL('../..', import.meta.url))
const guide = readFileSync(join(root, 'docs/deploy-node.md'), 'utf8')

/** The guide's code blocks of one language, in order. */
function blocks(language: string): string[] {
  return [...guide.matchAll(new RegExp('```' + language + '\\n([\\s\\S]*?)```', 'g'))].map((match) => match[1]!)
}

const shellLines = blocks('sh').flatMap((block) => block.split('\n'))
const scriptLines = shellLines.filter((line) => line.startsWith('npm run nats:'))
// The guide's streams (its metrics scrape is another curl line).
const curlUrls = shellLines.filter((line) => line.startsWith('curl ') && line.includes('/graphql/stream')).map((line) => line.match(/'(http[^']+)'/)![1]!)

function runScript(line: string, natsUrl: string): string {
  const result = spawnSync('sh', ['-c', line], { cwd: root, encoding: 'utf8', env: { ...process.env, NATS_DEFAULT_URL: natsUrl } })
  expect(result.status, `${line}\n${result.stdout}${result.stderr}`).toBe(0)
  return result.stdout
}

describe('docs/deploy-node.md, without the nats CLI', () => {
  const dir = mkdtempSync(join(tmpdir(), 'edge-stream-guide-'))
  // A server of its own: the guide's stream name is fixed, and another test's consumers on it would count below.
  let nats: NatsServer
  beforeAll(async () => {
    nats = await startNatsServer(currentNatsServerBinary())
  })
  afterAll(async () => {
    await nats?.stop()
    rmSync(dir, { recursive: true, force: true })
  })

  it('creates the stream, serves the schema, and resumes after the cut with the event published meanwhile', async () => {
    expect(scriptLines.map((line) => line.split(' ')[2])).toEqual(['nats:stream', 'nats:publish', 'nats:publish'])
    expect(curlUrls).toHaveLength(2)
    const natsUrl = nats.wsUrl
    const [createStream, publishFirst, publishSecond] = scriptLines as [string, string, string]

    expect(runScript(createStream, natsUrl)).toMatch(/stream EMPLOYEES (created|updated): captures employeeUpdated\.>/)

    const schemaPath = join(dir, 'subgraph.graphql')
    writeFileSync(schemaPath, blocks('graphql').find((block) => block.startsWith('# subgraph.graphql'))!)
    const port = await freePort()
    const server = await startProcess(process.execPath, ['--import', 'tsx', 'src/runtime/node.ts'], /server\.listening/, {
      cwd: root,
      env: { ...process.env, SCHEMA_PATH: schemaPath, SCHEMA: '', NATS_DEFAULT_URL: natsUrl, PORT: String(port) },
    })
    const admin = await connectJetStream(natsUrl)
    const local = (url: string) => url.replace('http://127.0.0.1:8787', `http://127.0.0.1:${port}`)
    try {
      const first = await openSse(local(curlUrls[0]!))
      // A live stream starts at the head: publish once its consumer is on the broker, as a reader would after curl's `: ok`.
      await expect.poll(() => admin.consumerCount('EMPLOYEES'), { timeout: 10_000, interval: 50 }).toBe(1)
      expect(runScript(publishFirst, natsUrl)).toMatch(/published to employeeUpdated\.1: stream EMPLOYEES, sequence \d+/)
      const [ada] = await readNextEvents(first, 1)
      first.cut()
      // The frame the guide shows, but for the id, which depends on the stream's history.
      const shownData = guide.match(/^data: (\{.*"Ada"\}\}\})$/m)![1]!
      expect(ada!.data).toBe(shownData)

      expect(runScript(publishSecond, natsUrl)).toMatch(/sequence \d+/)
      const resumed = await openSse(local(curlUrls[1]!), { headers: { 'Last-Event-ID': ada!.id! } })
      const [lovelace] = await readNextEvents(resumed, 1)
      resumed.cut()
      expect(JSON.parse(lovelace!.data)).toEqual({ data: { employeeUpdated: { id: 1, name: 'Ada Lovelace' } } })
    } finally {
      await server.stop()
      await admin.close()
    }
  })
})
