/**
 * The Cosmo router for the side-by-side benchmark: its binary (built with the Go toolchain and
 * cached outside the repository), its config composed by `wgc router compose` from the
 * event-driven subgraph in bench/router-graph, and the router process on a free loopback port.
 *
 * The binary is looked for in this order: COSMO_ROUTER_BIN; the cache; a build from
 * COSMO_ROUTER_SOURCE (the `router/` directory of a wundergraph/cosmo checkout); `go install`
 * of the router's module. A machine where none works gets a reason, and the benchmark goes on
 * without the router. Where the Go module proxy serves neither the router's module nor its
 * dependency go.withmatt.com/connect-brotli v0.4.0 (only the control-plane registration uses
 * it), the checkout builds after `go mod edit -replace go.withmatt.com/connect-brotli=<its v0.4.0
 * source>`; the figures in bench/RESULTS.md came from such a build of cosmo commit 6e0a147,
 * two commits after the router 0.341.0 release, both on Redis only.
 */
import { execFile, spawn, spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { homedir, tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { freePort } from '../../test/support/ports'
import { stopChild } from '../../test/support/processes'

/** The router release the figures were taken with (router@0.341.0, the cosmo release commit of 2026-08-18). */
export const COSMO_ROUTER_VERSION = '0.341.0'
const ROUTER_MODULE_VERSION = 'v0.0.0-20260818122706-e7b12b1beac4'

const cacheDir = join(homedir(), '.cache', 'edge-stream', `cosmo-router-${COSMO_ROUTER_VERSION}`)
const graphFile = fileURLToPath(new URL('../router-graph/graph.yaml', import.meta.url))
const wgc = fileURLToPath(new URL('../../node_modules/.bin/wgc', import.meta.url))

export type RouterBinary = { path: string } | { unavailable: string }

export function cosmoRouterBinary(): RouterBinary {
  const given = process.env.COSMO_ROUTER_BIN
  if (given) return existsSync(given) ? { path: given } : { unavailable: `COSMO_ROUTER_BIN ${given} does not exist` }
  const cached = join(cacheDir, 'router')
  if (existsSync(cached)) return { path: cached }
  mkdirSync(cacheDir, { recursive: true })
  const source = process.env.COSMO_ROUTER_SOURCE
  const ldflags = `-s -w -X github.com/wundergraph/cosmo/router/core.Version=${COSMO_ROUTER_VERSION}`
  const build = source
    ? spawnSync('go', ['build', '-trimpath', '-ldflags', ldflags, '-o', cached, './cmd/router'], { cwd: source, encoding: 'utf8' })
    : spawnSync('go', ['install', '-trimpath', '-ldflags', ldflags, `github.com/wundergraph/cosmo/router/cmd/router@${ROUTER_MODULE_VERSION}`], {
        encoding: 'utf8',
        env: { ...process.env, GOBIN: cacheDir },
      })
  if (build.status === 0 && existsSync(cached)) return { path: cached }
  const why = (build.error?.message ?? build.stderr ?? '').trim().split('\n').at(-1)
  return { unavailable: `the Cosmo router ${COSMO_ROUTER_VERSION} could not be built (${source ? `from ${source}` : 'go install'}): ${why}` }
}

export interface CosmoRouter {
  /** http://127.0.0.1:port/graphql */
  graphqlUrl: string
  pid: number
  stop(): Promise<void>
}

/** Composes bench/router-graph with wgc; the file path of the execution config. */
export async function composeRouterConfig(): Promise<string> {
  const out = join(mkdtempSync(join(tmpdir(), 'edge-stream-router-config-')), 'config.json')
  await promisify(execFile)(wgc, ['router', 'compose', '-i', graphFile, '-o', out], {
    env: { ...process.env, COSMO_TELEMETRY_DISABLED: 'true', DO_NOT_TRACK: '1' },
    timeout: 120_000,
  })
  return out
}

/**
 * The router with nothing on beside the subscriptions: no telemetry, metrics, registration or
 * playground; its NATS provider `default` on the server's core NATS port (the router does not
 * speak NATS over WebSocket).
 */
export async function startCosmoRouter(binary: string, executionConfig: string, natsUrl: string): Promise<CosmoRouter> {
  const dir = mkdtempSync(join(tmpdir(), 'edge-stream-router-'))
  const port = await freePort()
  const configFile = join(dir, 'config.yaml')
  writeFileSync(
    configFile,
    [
      'version: "1"',
      `listen_addr: "127.0.0.1:${port}"`,
      'log_level: "error"',
      'json_log: true',
      'dev_mode: false',
      'playground_enabled: false',
      'router_registration: false',
      'execution_config:',
      '  file:',
      `    path: "${executionConfig}"`,
      'telemetry:',
      '  tracing:',
      '    enabled: false',
      '  metrics:',
      '    otlp:',
      '      enabled: false',
      '    prometheus:',
      '      enabled: false',
      'graphql_metrics:',
      '  enabled: false',
      'events:',
      '  providers:',
      '    nats:',
      '      - id: default',
      `        url: "${natsUrl}"`,
    ].join('\n'),
  )
  const child = spawn(binary, [], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, CONFIG_PATH: configFile } })
  let output = ''
  child.stderr!.on('data', (chunk: Buffer) => (output = (output + chunk.toString()).slice(-4000)))
  const exited = new Promise<never>((_, reject) => child.once('exit', (code) => reject(new Error(`the Cosmo router exited with ${code}: ${output}`))))
  try {
    await Promise.race([waitForHealth(`http://127.0.0.1:${port}/health/ready`), exited])
  } catch (error) {
    child.kill('SIGKILL')
    throw error
  }
  exited.catch(() => {})
  return {
    graphqlUrl: `http://127.0.0.1:${port}/graphql`,
    pid: child.pid!,
    stop: () => stopChild(child),
  }
}

async function waitForHealth(url: string): Promise<void> {
  const deadline = Date.now() + 30_000
  while (Date.now() < deadline) {
    try {
      if ((await fetch(url)).ok) return
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  throw new Error(`the Cosmo router was not ready at ${url} after 30 s`)
}

/** CPU time (user + system) of a process so far, in microseconds, from /proc. */
export function processCpuMicros(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')
  // utime and stime are fields 14 and 15 of the whole line, in clock ticks (100 per second on Linux).
  return (Number(fields[11]) + Number(fields[12])) * 10_000
}

/** Resident set size of a process, in bytes, from /proc. */
export function processRssBytes(pid: number): number {
  const line = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
  return Number(line?.[1] ?? 0) * 1024
}
