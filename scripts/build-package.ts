/**
 * Builds the npm package into dist/: ES modules Node loads as they are, and their types.
 *
 * The source uses extensionless relative imports (moduleResolution Bundler), which Node's ES
 * module loader refuses, so the JavaScript is bundled by esbuild: one module per public entry
 * (the library and each runtime entry), the code they share in chunks, so each class exists once
 * however many entries a program imports. Dependencies stay imports, resolved by the user's
 * install and bundler (wrangler picks @upstash/redis's Workers build by its conditions).
 * tsc writes the declarations beside them; their relative imports get the `.js` (or
 * `/index.js`) extension that TypeScript's node16/nodenext resolution requires.
 *
 *   npx tsx scripts/build-package.ts     (npm run build; npm pack runs it first)
 */
import { build } from 'esbuild'
import { spawnSync } from 'node:child_process'
import { existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
const dist = join(root, 'dist')

/** The package's entry modules; package.json's `exports` names each of them. */
export const ENTRIES = ['index', 'runtime/node', 'runtime/workers', 'runtime/vercel', 'runtime/vercel-node']

export async function buildPackage(): Promise<void> {
  rmSync(dist, { recursive: true, force: true })
  await build({
    absWorkingDir: root,
    entryPoints: ENTRIES.map((entry) => `src/${entry}.ts`),
    outbase: 'src',
    outdir: dist,
    entryNames: '[dir]/[name]',
    chunkNames: 'chunks/[name]-[hash]',
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'neutral',
    target: 'es2022',
    packages: 'external',
    external: ['node:*'],
    // Function and class names stay as written: stack traces in users' logs stay readable.
    keepNames: true,
    logLevel: 'warning',
  })
  const tsc = spawnSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'], {
    cwd: root,
    encoding: 'utf8',
  })
  if (tsc.status !== 0) throw new Error(`tsc -p tsconfig.build.json failed:\n${tsc.stdout}${tsc.stderr}`)
  for (const file of declarationFiles(dist)) writeFileSync(file, withExtensions(file, readFileSync(file, 'utf8')))
}

function declarationFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name)
    if (statSync(path).isDirectory()) return declarationFiles(path)
    return name.endsWith('.d.ts') ? [path] : []
  })
}

/** `from './x'` and `import('./x')` in a declaration file, with the extension Node's resolution needs. */
function withExtensions(file: string, text: string): string {
  return text.replace(/((?:from |import\()\s*['"])(\.{1,2}\/[^'"]*)(['"])/g, (whole, head: string, specifier: string, tail: string) => {
    if (/\.(js|json)$/.test(specifier)) return whole
    const target = resolve(dirname(file), specifier)
    if (existsSync(`${target}.d.ts`)) return `${head}${specifier}.js${tail}`
    if (existsSync(join(target, 'index.d.ts'))) return `${head}${specifier}/index.js${tail}`
    throw new Error(`${file}: cannot resolve ${specifier}`)
  })
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await buildPackage()
