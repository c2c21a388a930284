/**
 * `npm run reliability`: every reliability scenario in its long version, one file
 * after the other (so that each has the machine to itself), then docs/reliability.md
 * from their figures. Exits with the tests' status; the report is written either way.
 *
 * `npm run reliability -- jetstream-cluster overload` runs only the files of
 * test/reliability/ whose names contain those words: their figures replace their
 * earlier ones, and the report keeps the other scenarios' rows, from whichever checkout
 * ran them (each run's commit, date, load and outcome is listed at the top).
 */
import { spawnSync } from 'node:child_process'
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { resultsDir, stampResults, testKey } from '../support/faults/results'
import { reliabilityReport, revision } from './reliability-report'

const filters = process.argv.slice(2)
if (filters.length === 0) rmSync(resultsDir(true), { recursive: true, force: true })
const started = new Date()
const commit = revision()
// Each test's outcome, so that each scenario's figures say whether its own assertions passed.
const outcomes = fileURLToPath(new URL('../../.cache/reliability/outcomes.json', import.meta.url))
rmSync(outcomes, { force: true })
const files = filters.length === 0 ? ['test/reliability'] : filters.map((f) => `test/reliability/${f}`)
const tests = spawnSync('npx', ['vitest', 'run', ...files, '--no-file-parallelism', '--reporter=default', '--reporter=json', `--outputFile.json=${outcomes}`], {
  stdio: 'inherit',
  env: { ...process.env, RELIABILITY: 'long', CI: 'true', WRANGLER_SEND_METRICS: 'false' },
})
stampResults(started, { passed: tests.status === 0, commit, passedByTest: passedByTest(outcomes) })
const report = fileURLToPath(new URL('../../docs/reliability.md', import.meta.url))
writeFileSync(report, reliabilityReport(existsSync(report) ? readFileSync(report, 'utf8') : ''))
console.log(`wrote ${report}`)
process.exit(tests.status ?? 1)

/** Whether each test passed, by its key (file and full name), from vitest's JSON report. */
function passedByTest(path: string): Map<string, boolean> {
  if (!existsSync(path)) return new Map()
  const report = JSON.parse(readFileSync(path, 'utf8')) as {
    testResults?: { name: string; assertionResults?: { ancestorTitles: string[]; title: string; status: string }[] }[]
  }
  return new Map(
    (report.testResults ?? []).flatMap((file) =>
      (file.assertionResults ?? []).map((test) => [testKey(file.name, [...test.ancestorTitles, test.title].join(' > ')), test.status === 'passed'] as const),
    ),
  )
}
