/**
 * Sizes the docs quote, read from the docs themselves, so tests hold them to the build they
 * measure: a figure more than 5 % off the measured one fails until the doc is updated.
 */
import { readFileSync } from 'node:fs'
import { expect } from 'vitest'

const root = new URL('../../', import.meta.url)

/** The numbers captured by `pattern` (commas as thousands separators) in a file of the repository. */
export function quotedFigures(path: string, pattern: RegExp): number[] {
  const match = readFileSync(new URL(path, root), 'utf8').match(pattern)
  expect(match, `${path} no longer quotes ${pattern}`).not.toBeNull()
  return match!.slice(1).map((figure) => Number(figure.replace(/,/g, '')))
}

export function expectQuotedKiB(quotedKiB: number, measuredBytes: number, what: string): void {
  const measuredKiB = measuredBytes / 1024
  expect(Math.abs(quotedKiB - measuredKiB) / measuredKiB, `${what}: quoted ${quotedKiB} KiB, built ${measuredKiB.toFixed(1)} KiB`).toBeLessThan(0.05)
}
