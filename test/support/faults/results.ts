import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { loadavg } from 'node:os'
import { fileURLToPath } from 'node:url'
import { LONG } from './scale'

/** Where scenarios leave their figures for the report (.cache is not committed). */
export const resultsDir = (long = LONG) => fileURLToPath(new URL(`../../../.cache/reliability/${long ? 'long' : 'short'}/`, import.meta.url))

/** The test that records a scenario's figures: its file, and its name with its describe blocks (`expect.getState()` has both). */
export interface RecordingTest {
  testPath?: string | undefined
  currentTestName?: string | undefined
}

/** Written before a scenario's assertions, so a failing run still leaves its figures. */
export function recordResult(scenario: string, test: RecordingTest, figures: object): void {
  mkdirSync(resultsDir(), { recursive: true })
  // The machine is shared: the load averages (1 and 5 minutes) when the scenario ended say how busy it was.
  const [load1 = 0, load5 = 0] = loadavg()
  const recordedBy = testKey(test.testPath ?? '', test.currentTestName ?? '')
  writeFileSync(`${resultsDir()}${scenario}.json`, JSON.stringify({ scenario, recordedAt: new Date().toISOString(), recordedBy, load: [load1, load5], ...figures }, null, 2))
}

/** A test named by its file and its name with its describe blocks, as `expect.getState()` and the JSON reporter give them. */
export const testKey = (file: string, name: string) => `${file} :: ${name}`

/** How a long run went, added to the figures it recorded: the commit, and whether every assertion of the test that recorded them passed. */
export interface RunStamp {
  passed: boolean
  commit: string
}

/**
 * Stamps the long results recorded since `since` with the outcome of the test that recorded
 * them (`passed`, by test key), or of the whole run when that test is not known.
 */
export function stampResults(since: Date, run: { passed: boolean; commit: string; passedByTest: Map<string, boolean> }): void {
  const dir = resultsDir(true)
  if (!existsSync(dir)) return
  for (const name of readdirSync(dir).filter((file) => file.endsWith('.json'))) {
    const result = JSON.parse(readFileSync(`${dir}${name}`, 'utf8')) as { recordedAt?: string; recordedBy?: string }
    if (result.recordedAt !== undefined && new Date(result.recordedAt) >= since) {
      const passed = run.passedByTest.get(result.recordedBy ?? '') ?? run.passed
      writeFileSync(`${dir}${name}`, JSON.stringify({ ...result, run: { passed, commit: run.commit } satisfies RunStamp }, null, 2))
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
