/** The Workers bundle as `wrangler deploy` would upload it, built offline with `--dry-run`. */
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { gzipSync } from 'node:zlib'

export interface BundleFigures {
  /** The JavaScript modules wrangler would upload, uncompressed. */
  bytes: number
  /** The same gzipped at zlib's default level, as wrangler's own "gzip" figure is. */
  gzipBytes: number
}

/** The modules of a `--dry-run --outdir` directory, as the figures in the docs count them. */
export function measureModules(outdir: string): BundleFigures {
  let bytes = 0
  let gzipBytes = 0
  for (const file of readdirSync(outdir).filter((name) => /\.(m?js|wasm)$/.test(name))) {
    const content = readFileSync(join(outdir, file))
    bytes += content.byteLength
    gzipBytes += gzipSync(content).byteLength
  }
  return { bytes, gzipBytes }
}

export function benchBundle(): BundleFigures {
  const outdir = mkdtempSync(join(tmpdir(), 'edge-stream-bundle-'))
  try {
    const result = spawnSync('npx', ['wrangler', 'deploy', '--dry-run', '--outdir', outdir], {
      cwd: fileURLToPath(new URL('..', import.meta.url)),
      env: { ...process.env, WRANGLER_SEND_METRICS: 'false', CI: 'true' },
      encoding: 'utf8',
    })
    if (result.status !== 0) throw new Error(`wrangler deploy --dry-run failed:\n${result.stdout}\n${result.stderr}`)
    return measureModules(outdir)
  } finally {
    rmSync(outdir, { recursive: true, force: true })
  }
}
