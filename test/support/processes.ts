import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { rmSync } from 'node:fs'

/** Installs a Debian package when its command is missing (CI machines start bare). */
export function ensureCommand(command: string, debianPackage: string): void {
  if (spawnSync('sh', ['-c', `command -v ${command}`]).status === 0) return
  const apt = (args: string[]) => {
    const result = spawnSync('apt-get', args, { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } })
    if (result.status !== 0) throw new Error(`apt-get ${args.join(' ')} failed`)
  }
  apt(['update', '-qq'])
  apt(['install', '-y', '-qq', debianPackage])
}

export interface RunningProcess {
  child: ChildProcess
  stop(): Promise<void>
}

/**
 * Starts a server and resolves once a line of its output matches `ready`;
 * rejects if it exits first or stays silent past `timeoutMs`.
 */
export function startProcess(
  command: string,
  args: string[],
  ready: RegExp,
  /** `group`: the command starts the server as a child of its own (npx does), so stop and kill signal the whole process group. */
  options: { timeoutMs?: number; env?: NodeJS.ProcessEnv; cwd?: string; group?: boolean } = {},
): Promise<RunningProcess> {
  return new Promise((resolve, reject) => {
    const group = options.group ?? false
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], env: options.env ?? process.env, cwd: options.cwd, detached: group })
    let output = ''
    const timer = setTimeout(() => fail(new Error(`${command} was not ready after ${options.timeoutMs ?? 30_000} ms`)), options.timeoutMs ?? 30_000)
    const onData = (chunk: Buffer) => {
      output = (output + chunk.toString()).slice(-20_000)
      if (ready.test(output)) {
        clearTimeout(timer)
        child.stdout?.off('data', onData)
        child.stderr?.off('data', onData)
        child.stdout?.resume()
        child.stderr?.resume()
        resolve({ child, stop: () => stopChild(child, group) })
      }
    }
    const fail = (error: Error) => {
      clearTimeout(timer)
      signal(child, 'SIGKILL', group)
      reject(new Error(`${error.message}\n${output}`))
    }
    child.stdout?.on('data', onData)
    child.stderr?.on('data', onData)
    child.once('exit', (code) => fail(new Error(`${command} exited with ${code}`)))
  })
}

export function stopChild(child: ChildProcess, group = false): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve()
  return new Promise((resolve) => {
    const kill = setTimeout(() => signal(child, 'SIGKILL', group), 5000)
    child.once('exit', () => {
      clearTimeout(kill)
      resolve()
    })
    signal(child, 'SIGTERM', group)
  })
}

/** Signals the child, or with `group` its process group (a detached child leads one). */
function signal(child: ChildProcess, name: NodeJS.Signals, group: boolean): void {
  if (!group || child.pid === undefined) {
    child.kill(name)
    return
  }
  try {
    process.kill(-child.pid, name)
  } catch {
    // the group is gone already
  }
}

export interface RestartableServer {
  /** A clean stop and start on the same ports and data, as the reliability suite's broker restarts. */
  restart(): Promise<void>
  /** Stops the server and removes its data directory. */
  stop(): Promise<void>
}

/** Runs `start` now and again on each restart; `dataDir` is removed at the final stop. */
export async function startRestartable(start: () => Promise<RunningProcess>, dataDir: string): Promise<RestartableServer> {
  let server = await start()
  return {
    async restart() {
      await server.stop()
      server = await start()
    },
    async stop() {
      await server.stop()
      rmSync(dataDir, { recursive: true, force: true })
    },
  }
}
