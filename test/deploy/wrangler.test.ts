/**
 * wrangler.toml as a user meets it: `wrangler deploy --dry-run` bundles the Worker without
 * an account, and `wrangler dev` serves a resumable stream from a local broker.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import { afterAll, describe, expect, inject, it } from 'vitest'
import { measureModules } from '../../bench/bundle'
import { expectQuotedKiB, quotedFigures } from '../support/doc-figures'
import { composeTestGraph } from '../support/federation/compose'
import { connectJetStream } from '../support/jetstream'
import { freePort } from '../support/ports'
import { eventsQuery, streamUrl, testSchema } from '../support/schemas'
import { openSse, readNextEvents } from '../support/sse-client'
import { runWrangler, startWranglerDev } from '../support/wrangler'
import { uniqueName } from '../support/random'

/** Workers Free plan's limit for a Worker's compressed size. */
const FREE_PLAN_GZIP_BYTES = 3 * 1024 * 1024

describe('wrangler', () => {
  const dir = mkdtempSync(join(tmpdir(), 'edge-stream-wrangler-'))
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  it('bundles the Worker with `deploy --dry-run`, within the Free plan’s size and without Node built-ins', async () => {
    const outdir = join(dir, 'dist')
    const { code, output } = await runWrangler(['deploy', '--dry-run', '--outdir', outdir])
    expect(code, output).toBe(0)
    expect(output).toMatch(/Total Upload: [\d.]+ KiB \/ gzip: [\d.]+ KiB/)
    const bundle = readFileSync(join(outdir, 'workers.js'))
    expect(gzipSync(bundle).length).toBeLessThan(FREE_PLAN_GZIP_BYTES)
    // The figures the docs quote are this build's.
    const measured = measureModules(outdir)
    const [kib, gzipKiB] = quotedFigures('docs/deploy-cloudflare.md', /reports about ([\d,]+) KiB, \*\*([\d,]+) KiB gzipped/)
    expectQuotedKiB(kib!, measured.bytes, 'deploy-cloudflare.md, bundle')
    expectQuotedKiB(gzipKiB!, measured.gzipBytes, 'deploy-cloudflare.md, gzipped')
    const [readmeGzipKiB] = quotedFigures('README.md', /the Workers bundle is ([\d,]+) KiB gzipped/)
    expectQuotedKiB(readmeGzipKiB!, measured.gzipBytes, 'README.md, gzipped')
    // Without nodejs_compat, an import of a Node built-in other than nodejs_als's would fail at deploy.
    expect(bundle.toString()).not.toMatch(/^import[^;]*["']node:(?!async_hooks["'])/m)
    // The federation code is in it, loaded only with an execution config: the bundle stays small without one.
    expect(measured.gzipBytes).toBeLessThanOrEqual(200_000)
  })

  it('uploads a Cosmo execution config as a Text module beside the Worker, as docs/deploy-cloudflare.md says', async () => {
    // The user's layout: graph/config.json from `wgc router compose`, the rule and base_dir in wrangler.toml.
    const graphDir = join(dir, 'graph')
    mkdirSync(graphDir, { recursive: true })
    writeFileSync(join(graphDir, 'config.json'), (await composeTestGraph()).text)
    const [, ...quoted] = readFileSync('docs/deploy-cloudflare.md', 'utf8').match(/```toml\n(# Cosmo execution config[^`]*)```/) ?? []
    expect(quoted, 'deploy-cloudflare.md quotes the wrangler.toml lines').toHaveLength(1)
    const toml = readFileSync('wrangler.toml', 'utf8')
      .replace('main = "src/runtime/workers.ts"', `main = "${join(process.cwd(), 'src/runtime/workers.ts')}"`)
      .replace('\n[vars]\n', `\n${quoted[0]!.replace('base_dir = "graph"', `base_dir = "${graphDir}"`)}\n[vars]\n`)
    const configPath = join(dir, 'wrangler-federated.toml')
    writeFileSync(configPath, toml)
    const outdir = join(dir, 'dist-federated')
    const { code, output } = await runWrangler(['deploy', '--dry-run', '--outdir', outdir, '--config', configPath])
    expect(code, output).toBe(0)
    expect(output).toMatch(/config\.json\s*│\s*text/)
    const config = gzipSync(readFileSync(join(outdir, 'config.json'))).length
    const worker = measureModules(outdir).gzipBytes
    console.log(`Workers upload with the test graph's execution config: ${worker} + ${config} bytes gzipped`)
    expect(worker + config).toBeLessThanOrEqual(400_000)
  })

  it('serves a resumable stream with `wrangler dev` from the local nats-server', async () => {
    const natsUrl = inject('natsWsUrl')
    const admin = await connectJetStream(natsUrl)
    const stream = uniqueName('wranglerdev')
    await admin.createStream({ name: stream, subjects: [`t.${stream}.>`] })
    await admin.publish(`t.${stream}.a`, Array.from({ length: 10 }, (_, i) => ({ n: i + 1 })))
    // What a user puts in .dev.vars (--env-file takes the same format); single quotes keep the SDL's double quotes.
    const envFile = join(dir, 'dev.vars')
    writeFileSync(envFile, `SCHEMA='${testSchema.replace(/\s+/g, ' ')}'\nNATS_DEFAULT_URL=${natsUrl}\nLOG_LEVEL=warn\n`)
    const dev = await startWranglerDev(await freePort(), ['--env-file', envFile, '--persist-to', join(dir, 'state')])
    try {
      const url = streamUrl(dev.url, eventsQuery(stream, 'a'))
      const first = await openSse(`${url}&from=earliest`)
      const before = await readNextEvents(first, 4)
      first.cut()
      const second = await openSse(url, { headers: { 'Last-Event-ID': before.at(-1)!.id! } })
      const after = await readNextEvents(second, 6)
      second.cut()
      expect([...before, ...after].map((e) => JSON.parse(e.data).data.events.n)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10])
    } finally {
      await dev.stop()
      await admin.close()
    }
  })
})
