/** What a figure was measured on: the machine, the versions, the commit. */
import { spawnSync } from 'node:child_process'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { cpus, loadavg, release, totalmem } from 'node:os'
import { fileURLToPath } from 'node:url'

const repoRoot = fileURLToPath(new URL('../..', import.meta.url))

/** The packages on the measured paths (and the tools that build and run them). */
const PACKAGES = [
  'hono',
  '@hono/node-server',
  '@nats-io/nats-core',
  '@nats-io/jetstream',
  '@upstash/redis',
  'graphql',
  'ws',
  'wrangler',
  'miniflare',
  'workerd',
]

export interface Machine {
  cpu: string
  cores: number
  memoryGiB: number
  os: string
  /** 1-minute load average when the run started: other work on the machine skews figures. */
  loadAverage: number
}

export function describeMachine(): Machine {
  return {
    cpu: cpus()[0]?.model.trim() ?? 'unknown',
    cores: cpus().length,
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    os: `${process.platform} ${release()}`,
    loadAverage: Math.round(loadavg()[0]! * 100) / 100,
  }
}

export function describeVersions(brokerCommands: Record<string, [string, ...string[]]>): Record<string, string> {
  const versions: Record<string, string> = { node: process.version }
  for (const [name, [command, ...args]] of Object.entries(brokerCommands)) {
    const result = spawnSync(command, args, { encoding: 'utf8' })
    versions[name] = result.status === 0 ? (result.stdout.match(/v?\d+\.\d+\.\d+/)?.[0] ?? result.stdout.trim()) : 'unavailable'
  }
  // The Kafka broker's jars are cached by version (test/support/kafka/kafka-broker.ts).
  const cache = `${repoRoot}.cache`
  versions.kafka = (existsSync(cache) && readdirSync(cache).find((name) => /^kafka-\d/.test(name))?.slice('kafka-'.length)) || 'unavailable'
  versions.java = spawnSync('java', ['-version'], { encoding: 'utf8' }).stderr?.match(/version "([^"]+)"/)?.[1] ?? 'unavailable'
  for (const name of PACKAGES) {
    try {
      versions[name] = (JSON.parse(readFileSync(`${repoRoot}node_modules/${name}/package.json`, 'utf8')) as { version: string }).version
    } catch {
      versions[name] = 'not installed'
    }
  }
  return versions
}

/** What is measured: the function, the benchmark, the dependencies and the Workers build settings. */
const MEASURED_PATHS = ['src', 'bench', 'package.json', 'package-lock.json', 'wrangler.toml']

/** The commit measured, with `+changes` when the working tree's measured paths differ from it. */
export function describeCommit(): string {
  const git = (...args: string[]) => spawnSync('git', args, { cwd: repoRoot, encoding: 'utf8' }).stdout.trim()
  const commit = git('rev-parse', '--short', 'HEAD') || 'unknown'
  return git('status', '--porcelain', '--untracked-files=no', '--', ...MEASURED_PATHS) ? `${commit}+changes` : commit
}

/**
 * CPU time the whole machine spent so far (every process and the kernel: user, nice, system, irq,
 * softirq, steal), and its elapsed time in all cores, in microseconds, from /proc/stat.
 */
export function machineCpuMicros(): { busy: number; total: number } {
  const [, ...ticks] = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!.trim().split(/\s+/).map(Number)
  const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = ticks
  // Clock ticks are 100 per second on Linux.
  const busy = (user + nice + system + irq + softirq + steal) * 10_000
  return { busy, total: busy + (idle + iowait) * 10_000 }
}
