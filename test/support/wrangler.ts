import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const wranglerBin = fileURLToPath(new URL('../../node_modules/.bin/wrangler', import.meta.url))
const wranglerEnv = { ...process.env, CI: 'true', WRANGLER_SEND_METRICS: 'false' }

/** Runs a wrangler command to its end, in `cwd` (a project's folder; this repository by default). */
export function runWrangler(args: string[], cwd?: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(wranglerBin, args, { env: wranglerEnv, stdio: ['ignore', 'pipe', 'pipe'], cwd })
    let output = ''
    child.stdout.on('data', (chunk) => (output += chunk))
    child.stderr.on('data', (chunk) => (output += chunk))
    child.once('exit', (code) => resolve({ code, output }))
  })
}

export interface WranglerDev {
  url: string
  stop(): Promise<void>
}

/**
 * `wrangler dev` on 127.0.0.1:`port`. It runs as a tree (wrangler's launcher, its CLI,
 * workerd), which a signal to the launcher alone leaves running: the tree gets a process
 * group of its own, and stopping signals the whole group.
 */
export function startWranglerDev(port: number, args: string[]): Promise<WranglerDev> {
  const child = spawn(wranglerBin, ['dev', '--ip', '127.0.0.1', '--port', String(port), ...args], {
    env: wranglerEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  })
  const group = child.pid!
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const signal = (name: NodeJS.Signals) => {
    try {
      process.kill(-group, name)
    } catch {
      // the group is gone already
    }
  }
  const stop = async () => {
    signal('SIGINT')
    const timer = setTimeout(() => signal('SIGKILL'), 5000)
    await exited
    clearTimeout(timer)
    // workerd may outlive the CLI by a moment; nothing of the group may stay behind.
    signal('SIGKILL')
  }
  return new Promise((resolve, reject) => {
    let output = ''
    const timer = setTimeout(() => fail(new Error('wrangler dev was not ready after 60 s')), 60_000)
    const fail = (error: Error) => {
      clearTimeout(timer)
      void stop()
      reject(new Error(`${error.message}\n${output}`))
    }
    const onData = (chunk: Buffer) => {
      output += chunk
      if (output.includes(`Ready on http://127.0.0.1:${port}`)) {
        clearTimeout(timer)
        child.stdout.resume()
        child.stderr.resume()
        resolve({ url: `http://127.0.0.1:${port}`, stop })
      }
    }
    child.stdout.on('data', onData)
    child.stderr.on('data', onData)
    child.once('exit', (code) => fail(new Error(`wrangler dev exited with ${code}`)))
  })
}
