import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { LONG } from './scale'

/** Where scenarios leave their figures for the report (.cache is not committed). */
export const resultsDir = (long = LONG) => fileURLToPath(new URL(`../../../.cache/reliability/${long ? 'long' : 'short'}/`, import.meta.url))

/** Written before a scenario's assertions, so a failing run still leaves its figures. */
export function recordResult(scenario: string, figures: object): void {
  mkdirSync(resultsDir(), { recursive: true })
  writeFileSync(`${resultsDir()}${scenario}.json`, JSON.stringify({ scenario, recordedAt: new Date().toISOString(), ...figures }, null, 2))
}

export function readResults(long: boolean): Record<string, unknown>[] {
  const dir = resultsDir(long)
  if (!existsSync(dir)) return []
  return readdirSync(dir)
    .filter((name) => name.endsWith('.json'))
    .sort()
    .map((name) => JSON.parse(readFileSync(`${dir}${name}`, 'utf8')) as Record<string, unknown>)
}
