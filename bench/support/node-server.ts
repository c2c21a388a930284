import { spawn, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import type { Env } from '../../src/config/env'
import { stopChild } from '../../test/support/processes'

/**
 * The Node entry in a child process of its own, so the server and the benchmark's
 * clients do not share one JavaScript thread (on 2 cores, the broker and the two
 * processes still share the machine).
 */
export interface NodeServer {
  baseUrl: string
  pid: number
  /**
   * Resident set size, JS heap in use and the young generation's resident memory after a full
   * garbage collection, in bytes.
   */
  memory(): Promise<{ rss: number; heapUsed: number; youngBytes: number }>
  /** CPU time the server used so far (user + system), in microseconds. */
  cpuMicros(): Promise<number>
  close(): Promise<void>
}

const entry = fileURLToPath(new URL('../node-entry.ts', import.meta.url))
const repoRoot = fileURLToPath(new URL('../..', import.meta.url))

/** `BENCH_NODE_ARGS`: more flags for the server's node, e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof` to profile it. */
const extraNodeArgs = process.env.BENCH_NODE_ARGS?.split(' ').filter(Boolean) ?? []

export function startNodeServer(env: Env): Promise<NodeServer> {
  const child = spawn(process.execPath, [...extraNodeArgs, '--import', 'tsx', '--expose-gc', entry], {
    cwd: repoRoot,
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    env: { ...process.env, ...env, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info' },
  })
  const killOnExit = () => child.kill('SIGKILL')
  process.once('exit', killOnExit)
  return new Promise((resolve, reject) => {
    let output = ''
    let listening = false
    const timer = setTimeout(() => fail(new Error('the Node entry was not listening after 30 s')), 30_000)
    const fail = (error: Error) => {
      clearTimeout(timer)
      child.kill('SIGKILL')
      reject(new Error(`${error.message}\n${output.slice(-4000)}`))
    }
    child.once('exit', (code) => fail(new Error(`the Node entry exited with ${code}`)))
    child.stderr!.on('data', (chunk: Buffer) => (output = (output + chunk.toString()).slice(-20_000)))
    child.stdout!.on('data', (chunk: Buffer) => {
      if (listening) return // the streams' own log lines are not kept
      output += chunk.toString()
      const url = /"event":"server\.listening".*?"url":"([^"]+)"/.exec(output)?.[1]
      if (!url) return
      listening = true
      clearTimeout(timer)
      child.removeAllListeners('exit')
      resolve({
        baseUrl: url,
        pid: child.pid!,
        memory: () => ask(child, 'memory'),
        cpuMicros: async () => (await ask<{ cpu: number }>(child, 'cpu')).cpu,
        close: async () => {
          process.off('exit', killOnExit)
          await stopChild(child)
        },
      })
    })
  })
}

function ask<T>(child: ChildProcess, probe: 'memory' | 'cpu'): Promise<T> {
  return new Promise((resolve) => {
    child.once('message', (message) => resolve(message as T))
    child.send(probe)
  })
}
