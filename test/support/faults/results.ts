import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { loadavg } from 'node:os'
import { fileURLToPath } from 'node:url'
import { LONG } from './scale'

/** Where scenarios leave their figures for the report (.cache is not committed). */
export const resultsDir = (long = LONG) => fileURLToPath(new URL(`../../../.cache/reliability/${long ? 'long' : 'short'}/`, import.meta.url))

/** Written before a scenario's assertions, so a failing run still leaves its figures. */
export function recordResult(scenario: string, figures: object): void {
  mkdirSync(resultsDir(), { recursive: true })
  // The machine is shared: the load averages (1 and 5 minutes) when the scenario ended say how busy it was.
  const [load1 = 0, load5 = 0] = loadavg()
  writeFileSync(`${resultsDir()}${scenario}.json`, JSON.stringify({ scenario, recordedAt: new Date().toISOString(), load: [load1, load5], ...figures }, null, 2))
}

/** How a long run went, added to the figures it recorded: the commit, and whether every assertion of the run passed. */
export interface RunStamp {
  passed: boolean
  commit: string
}

/** Stamps the long results recorded since `since` with their run's outcome. */
export function stampResults(since: Date, stamp: RunStamp): void {
  const dir = resultsDir(true)
  if (!existsSync(dir)) return
  for (const name of readdirSync(dir).filter((file) => file.endsWith('.json'))) {
    const result = JSON.parse(readFileSync(`${dir}${name}`, 'utf8')) as { recordedAt?: string }
    if (result.recordedAt !== undefined && new Date(result.recordedAt) >= since) {
      writeFileSync(`${dir}${name}`, JSON.stringify({ ...result, run: stamp }, null, 2))
    }
  }
}

export function readResults(long: boolean): Record<string, unknown>[] {
  const dir = resultsDir(long)
  if (!existsSync(dir)) return []
  return readdirSync(dir)
    .filter((name) => name.endsWith('.json'))
    .sort()
    .map((name) => JSON.parse(readFileSync(`${dir}${name}`, 'utf8')) as Record<string, unknown>)
}
