/**
 * The npm package as a user gets it: `npm pack` (which builds dist/), the tarball installed into
 * an empty folder, and docs/library.md's files run as written there, outside this repository:
 * server.mjs with plain `node`, the Worker bundled by `wrangler deploy --dry-run` and served by
 * workerd, and `npx edge-stream`. Only the addresses come from the test (NATS_URL, PORT).
 */
import { spawnSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Miniflare } from 'miniflare'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { connectJetStream, type JetStreamAdmin } from '../support/jetstream'
import { currentNatsServerBinary, startNatsServer, type NatsServer } from '../support/nats-server'
import { freePort } from '../support/ports'
import { startProcess } from '../support/processes'
import { openSse, readNextEvents } from '../support/sse-client'
import { runWrangler } from '../support/wrangler'

const root = fileURLToPath(new URL('../..', import.meta.url))
const doc = readFileSync(join(root, 'docs/library.md'), 'utf8')

/** The doc's code block whose first line names `file` (`// app.mjs`, `# wrangler.toml`). */
function docFile(file: string): string {
  for (const [, block = ''] of doc.matchAll(/```\w+\n([\s\S]*?)```/g)) {
    if (block.split('\n', 1)[0]?.endsWith(` ${file}`)) return block
  }
  throw new Error(`docs/library.md has no ${file}`)
}

/** The first capture of `pattern` in `text`, or a failure naming what is missing. */
function captured(text: string, pattern: RegExp, what: string): string {
  const value = pattern.exec(text)?.[1]
  if (value === undefined) throw new Error(`no ${what}`)
  return value
}

function run(command: string, args: string[], cwd: string): { stdout: string; stderr: string } {
  const result = spawnSync(command, args, { cwd, encoding: 'utf8' })
  expect(result.status, `${command} ${args.join(' ')}\n${result.stdout}${result.stderr}`).toBe(0)
  return result
}

describe('the npm package (docs/library.md)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'edge-stream-package-'))
  const project = join(dir, 'my-app')
  let admin: JetStreamAdmin
  let nats: NatsServer
  // One employee of its own: other tests publish to other ids of the same stream.
  const employee = 100_000 + Math.floor(Math.random() * 900_000)
  const query = `subscription { employeeUpdated(id: ${employee}) { id name } }`

  beforeAll(async () => {
    const packed = JSON.parse(run('npm', ['pack', '--json', '--pack-destination', dir], root).stdout)[0]
    const files: string[] = packed.files.map((file: { path: string }) => file.path)
    // Built code, types, the bin and the README: no sources, tests, benchmarks or docs.
    expect(files.filter((file) => !/^(dist\/.*\.(js|d\.ts)|bin\/edge-stream\.js|README\.md|package\.json)$/.test(file))).toEqual([])
    mkdirSync(project)
    // An empty project with the doc's Node 20 override.
    const override = captured(doc, /```json\n(.*)\n```/, 'overrides line in docs/library.md')
    writeFileSync(join(project, 'package.json'), `{ "name": "my-app", "private": true, ${override} }\n`)
    const install = run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', join(dir, packed.filename)], project)
    expect(install.stderr).not.toMatch(/EBADENGINE|deprecated/)
    for (const file of ['app.mjs', 'server.mjs', 'worker.mjs', 'wrangler.toml']) writeFileSync(join(project, file), docFile(file))

    // A server of its own: the stream of docs/deploy-node.md has a fixed name, and the guide's test counts its consumers.
    nats = await startNatsServer(currentNatsServerBinary())
    admin = await connectJetStream(nats.wsUrl)
    await admin.createStream({ name: 'EMPLOYEES', subjects: ['employeeUpdated.>'] })
    await admin.publish(`employeeUpdated.${employee}`, ['Ada', 'Grace', 'Edsger', 'Barbara'].map((name) => ({ id: employee, name })))
  }, 240_000)
  afterAll(async () => {
    await admin?.close()
    await nats?.stop()
    rmSync(dir, { recursive: true, force: true })
  })

  /** Reads the first two names, cuts, and resumes with the second id: the third and fourth follow. */
  async function expectResumableStream(baseUrl: string) {
    const url = `${baseUrl}/graphql/stream?${new URLSearchParams({ query, from: 'earliest' })}`
    const auth = { Authorization: 'Bearer secret' }
    expect((await fetch(`${baseUrl}/health`)).status).toBe(200)
    expect((await fetch(url)).status).toBe(401)
    const first = await openSse(url, { headers: auth })
    const before = await readNextEvents(first, 2)
    first.cut()
    const lastId = before.at(-1)?.id
    expect(lastId).toBeTypeOf('string')
    const second = await openSse(url, { headers: { ...auth, 'Last-Event-ID': String(lastId) } })
    const after = await readNextEvents(second, 2)
    second.cut()
    expect([...before, ...after].map((event) => JSON.parse(event.data).data.employeeUpdated.name)).toEqual(['Ada', 'Grace', 'Edsger', 'Barbara'])
  }

  it('serves the doc’s app with plain node', async () => {
    const port = await freePort()
    const server = await startProcess(process.execPath, ['server.mjs'], /listening on/, {
      cwd: project,
      env: { PATH: process.env.PATH, NATS_URL: nats.wsUrl, API_TOKEN: 'secret', PORT: String(port) },
    })
    try {
      await expectResumableStream(`http://127.0.0.1:${port}`)
    } finally {
      await server.stop()
    }
  })

  it('type-checks against the package’s declarations with TypeScript’s nodenext resolution', () => {
    writeFileSync(
      join(project, 'check.mts'),
      `import { createApp, loadEdfsSchema, type AppOptions } from 'edge-stream'
import worker from 'edge-stream/workers'
const options: AppOptions = { schema: loadEdfsSchema('type Query { a: Int }'), providers: new Map() }
export const app = createApp(options)
export const fetchHandler: typeof worker.fetch = worker.fetch
`,
    )
    const tsc = join(root, 'node_modules/typescript/bin/tsc')
    // The package's own .d.ts files are checked too (no skipLibCheck); Node's types come from this repository.
    run(process.execPath, [tsc, '--noEmit', '--strict', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--types', 'node', '--typeRoots', join(root, 'node_modules/@types'), 'check.mts'], project)
  })

  it('bundles the doc’s Worker with wrangler, and workerd serves it', async () => {
    const outdir = join(dir, 'worker-dist')
    const { code, output } = await runWrangler(['deploy', '--dry-run', '--outdir', outdir], project)
    expect(code, output).toBe(0)
    const bundle = readdirSync(outdir).find((file) => file.endsWith('.js'))
    expect(bundle, output).toBeDefined()
    const script = readFileSync(join(outdir, String(bundle)), 'utf8')
    // Without nodejs_compat, an import of a Node built-in would fail at deploy.
    expect(script).not.toMatch(/^import[^;]*["']node:/m)
    const toml = docFile('wrangler.toml')
    const mf = new Miniflare({
      modules: true,
      script,
      compatibilityDate: captured(toml, /compatibility_date = "(.*)"/, 'compatibility_date in wrangler.toml'),
      compatibilityFlags: ['enable_request_signal'],
      bindings: { NATS_URL: nats.wsUrl, API_TOKEN: 'secret' },
      host: '127.0.0.1',
      port: 0,
    })
    try {
      const url = await mf.ready
      await expectResumableStream(url.origin)
    } finally {
      await mf.dispose()
    }
  })

  it('`npx edge-stream` serves the demo as `npm start` does', async () => {
    const port = await freePort()
    const server = await startProcess('npx', ['edge-stream'], /edge-stream demo: open/, {
      cwd: project,
      env: { PATH: process.env.PATH, PORT: String(port) },
      // npx runs the bin as a child of its own, which a signal to npx alone leaves running.
      group: true,
    })
    try {
      const page = await fetch(`http://127.0.0.1:${port}/`)
      expect(await page.text()).toContain("new EventSource('/graphql/stream?'")
      const stream = await openSse(`http://127.0.0.1:${port}/graphql/stream?${new URLSearchParams({ query: 'subscription { tick { n } }', from: 'earliest' })}`)
      const [tick] = await readNextEvents(stream, 1)
      stream.cut()
      expect(JSON.parse(tick?.data ?? '{}').data?.tick.n).toBeTypeOf('number')
    } finally {
      await server.stop()
    }
  })
})
