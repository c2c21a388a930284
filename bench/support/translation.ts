import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { stopChild } from '../../test/support/processes'

export interface Translation {
  url: string
  token: string
  stop(): Promise<void>
}

const entry = fileURLToPath(new URL('../translation-entry.ts', import.meta.url))

/** Starts bench/translation-entry.ts in a child process and waits for its address. */
export async function startTranslation(kind: 'upstash-redis' | 'redpanda', target: string): Promise<Translation> {
  const child = spawn(process.execPath, ['--import', 'tsx', entry, kind, target], { stdio: ['ignore', 'pipe', 'inherit'] })
  const [line] = (await once(createInterface({ input: child.stdout }), 'line')) as [string]
  const [, url, token] = /^listening (\S+) (\S+)$/.exec(line) ?? []
  if (!url || !token) {
    await stopChild(child)
    throw new Error(`the ${kind} translation did not start: ${line}`)
  }
  return { url, token, stop: () => stopChild(child) }
}
