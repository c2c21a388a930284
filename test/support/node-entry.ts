/** `npm start` as a newcomer runs it: the Node entry as a child process. */
import { spawn } from 'node:child_process'

export const nodeEntry = ['--import', 'tsx', 'src/runtime/node.ts']

/** Runs the Node entry with `env` added to this process's, until it exits; its output merged. */
export function runNodeEntryToExit(env: NodeJS.ProcessEnv): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, nodeEntry, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
    let output = ''
    child.stdout.on('data', (chunk) => (output += chunk))
    child.stderr.on('data', (chunk) => (output += chunk))
    child.once('exit', (code) => resolve({ code, output }))
  })
}
