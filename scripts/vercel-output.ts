/**
 * Builds the Vercel deployment in Vercel's Build Output API (v3) format: one function at
 * /graphql/stream, bundled by esbuild. vercel.json runs it as the build command.
 *
 * Why not TypeScript files under api/: Vercel compiles those one by one to ES modules and
 * keeps their import specifiers, and Node refuses the extensionless relative imports this
 * code base uses (ERR_MODULE_NOT_FOUND at the first request). A bundle has none.
 *
 *   npx tsx scripts/vercel-output.ts                     Node.js runtime (Vercel's default)
 *   npx tsx scripts/vercel-output.ts --edge              Edge runtime
 *   npx tsx scripts/vercel-output.ts --max-duration 800  Node.js, a longer limit (Pro, Enterprise)
 */
import { build } from 'esbuild'
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

export type VercelRuntime = 'nodejs' | 'edge'

export interface VercelOutputOptions {
  /** The `.vercel/output` directory, emptied first. */
  outDir: string
  runtime: VercelRuntime
  /** Node.js only: seconds before Vercel stops the function (300 is the default on every plan). */
  maxDurationSeconds?: number
  /**
   * The Cosmo execution config to bundle: its path as EXECUTION_CONFIG_FILE_PATH names it (Vercel
   * passes the project's variables to the build too) and its text. A function cannot read the
   * repository's files, so the text goes into the bundle.
   */
  executionConfig?: { path: string; text: string }
}

const root = fileURLToPath(new URL('..', import.meta.url))
/** The package conditions Vercel's own Edge bundler resolves with. */
const EDGE_CONDITIONS = ['edge-light', 'worker', 'browser']
/** Where the function lives in the output, which is also the path it serves. */
export const FUNCTION_DIR = join('functions', 'graphql', 'stream.func')

export async function buildVercelOutput(options: VercelOutputOptions): Promise<void> {
  const { outDir, runtime } = options
  // src/runtime/vercel.ts reads it as its files; without a config the bundle holds none.
  const define = { EDGE_STREAM_BUNDLED_FILES: JSON.stringify(options.executionConfig ? { [options.executionConfig.path]: options.executionConfig.text } : {}) }
  rmSync(outDir, { recursive: true, force: true })
  const functionDir = join(outDir, FUNCTION_DIR)
  mkdirSync(functionDir, { recursive: true })
  writeFileSync(join(outDir, 'config.json'), JSON.stringify({ version: 3 }, null, 2))

  if (runtime === 'edge') {
    await build({
      entryPoints: [join(root, 'src/runtime/vercel.ts')],
      outfile: join(functionDir, 'index.js'),
      bundle: true,
      format: 'esm',
      platform: 'browser',
      conditions: EDGE_CONDITIONS,
      target: 'es2022',
      define,
      logLevel: 'warning',
    })
    writeConfig(functionDir, { runtime: 'edge', entrypoint: 'index.js' })
    return
  }

  await build({
    entryPoints: [join(root, 'src/runtime/vercel-node.ts')],
    outfile: join(functionDir, 'index.mjs'),
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    define,
    // ws loads these optional native speed-ups only if they are installed.
    external: ['bufferutil', 'utf-8-validate'],
    // CommonJS dependencies (ws) require Node built-ins, which an ES module bundle must provide.
    banner: { js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);" },
    logLevel: 'warning',
  })
  writeConfig(functionDir, {
    runtime: 'nodejs22.x',
    handler: 'index.mjs',
    launcherType: 'Nodejs',
    shouldAddHelpers: false,
    supportsResponseStreaming: true,
    maxDuration: options.maxDurationSeconds ?? 300,
  })
}

function writeConfig(functionDir: string, config: Record<string, unknown>): void {
  writeFileSync(join(functionDir, '.vc-config.json'), JSON.stringify(config, null, 2))
}

function parseArguments(args: string[]): VercelOutputOptions {
  const options: VercelOutputOptions = { outDir: join(root, '.vercel', 'output'), runtime: 'nodejs' }
  const configPath = process.env.EXECUTION_CONFIG_FILE_PATH
  if (configPath) options.executionConfig = { path: configPath, text: readFileSync(join(root, configPath), 'utf8') }
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--edge') options.runtime = 'edge'
    else if (args[i] === '--max-duration' && /^\d+$/.test(args[i + 1] ?? '')) options.maxDurationSeconds = Number(args[++i])
    else throw new Error(`unknown argument ${args[i]}; use --edge or --max-duration <seconds>`)
  }
  return options
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const options = parseArguments(process.argv.slice(2))
  await buildVercelOutput(options)
  console.log(`edge-stream: ${options.runtime} function written to ${join(options.outDir, FUNCTION_DIR)}`)
}
