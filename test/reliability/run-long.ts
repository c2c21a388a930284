/**
 * `npm run reliability`: every reliability scenario in its long version, one file
 * after the other (so that each has the machine to itself), then docs/reliability.md
 * from their figures. Exits with the tests' status; the report is written either way.
 */
import { spawnSync } from 'node:child_process'
import { rmSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { resultsDir } from '../support/faults/results'
import { reliabilityReport } from './reliability-report'

rmSync(resultsDir(true), { recursive: true, force: true })
const started = Date.now()
const tests = spawnSync('npx', ['vitest', 'run', 'test/reliability', '--no-file-parallelism'], {
  stdio: 'inherit',
  env: { ...process.env, RELIABILITY: 'long', CI: 'true', WRANGLER_SEND_METRICS: 'false' },
})
const report = fileURLToPath(new URL('../../docs/reliability.md', import.meta.url))
writeFileSync(report, reliabilityReport({ passed: tests.status === 0, wallClockMs: Date.now() - started }))
console.log(`wrote ${report}`)
process.exit(tests.status ?? 1)
