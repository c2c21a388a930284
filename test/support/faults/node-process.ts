import { fork } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import type { Env } from '../../../src/config/env'
import { freePort } from '../ports'
import { stopChild } from '../processes'
import type { MemorySample } from './memory-probe'

/**
 * The Node entry (src/runtime/node.ts) as its own process, as it is deployed:
 * the tests' clients, publishers and proxies do not share its heap or event loop,
 * so its memory figures are its own.
 */
export interface NodeProcess {
  baseUrl: string
  /** The function's memory now, after a full GC. */
  memory(): Promise<MemorySample>
  /** The most resident memory the process ever had (VmHWM), in bytes. */
  peakRss(): number
  /** How many log lines of each event (`stream.open`, `stream.upstream_error`, …) it wrote. */
  logCounts(): ReadonlyMap<string, number>
  /** Its warn and error lines, the last 200. */
  problems(): readonly string[]
  /**
   * The most streams it held at once, by its own log (\`stream.open\` up, \`stream.close\` down, in the
   * order it wrote them): clients that read behind see a stream's end later than the function does.
   */
  mostOpenAtOnce(): number
  stop(): Promise<void>
}

const root = fileURLToPath(new URL('../../../', import.meta.url))

export async function startNodeProcess(env: Env): Promise<NodeProcess> {
  const port = await freePort()
  const child = fork(`${root}src/runtime/node.ts`, {
    cwd: root,
    execArgv: ['--expose-gc', '--import', 'tsx', '--import', `${root}test/support/faults/memory-probe.ts`],
    env: { ...process.env, ...env, LOG_LEVEL: 'info', HOST: '127.0.0.1', PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  })
  const counts = new Map<string, number>()
  const problems: string[] = []
  let open = 0
  let mostOpen = 0
  let partial = ''
  let onListening: (() => void) | undefined
  const onOutput = (chunk: Buffer) => {
    const lines = (partial + chunk.toString()).split('\n')
    partial = lines.pop() ?? ''
    for (const line of lines) {
      const event = /"event":"([^"]+)"/.exec(line)?.[1] ?? 'unstructured'
      counts.set(event, (counts.get(event) ?? 0) + 1)
      if (event === 'stream.open') mostOpen = Math.max(mostOpen, ++open)
      else if (event === 'stream.close') open--
      if (event === 'server.listening') onListening?.()
      if (event !== 'unstructured' && !/"level":"(warn|error)"/.test(line)) continue
      problems.push(line)
      if (problems.length > 200) problems.shift()
    }
  }
  child.stdout!.on('data', onOutput)
  child.stderr!.on('data', onOutput)
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the Node entry did not listen within 30 s:\n${problems.join('\n')}`)), 30_000)
    onListening = () => {
      clearTimeout(timer)
      resolve()
    }
    child.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`the Node entry exited with ${code}:\n${problems.join('\n')}`))
    })
  })

  return {
    baseUrl: `http://127.0.0.1:${port}`,
    memory: () =>
      new Promise<MemorySample>((resolve, reject) => {
        const onExit = () => reject(new Error(`the Node entry exited:\n${problems.join('\n')}`))
        child.once('exit', onExit)
        child.once('message', (sample) => {
          child.off('exit', onExit)
          resolve(sample as MemorySample)
        })
        child.send('memory')
      }),
    peakRss: () => {
      const match = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))
      return Number(match?.[1] ?? 0) * 1024
    },
    logCounts: () => counts,
    problems: () => problems,
    mostOpenAtOnce: () => mostOpen,
    stop: () => stopChild(child),
  }
}
