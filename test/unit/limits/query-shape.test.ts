import { parse } from 'graphql'
import { describe, expect, it } from 'vitest'
import { RequestError } from '../../../src/errors'
import { checkNesting, checkQueryShape } from '../../../src/limits/query-shape'

const limits = { maxDepth: 3, maxFields: 6, maxAliases: 1 }

function refusal(check: () => void): string {
  try {
    check()
  } catch (error) {
    expect(error).toBeInstanceOf(RequestError)
    expect((error as RequestError).status).toBe(400)
    return (error as RequestError).message
  }
  throw new Error('expected a refusal')
}

describe('query shape', () => {
  it('accepts what fits and measures depth, fields and aliases through fragments', () => {
    checkQueryShape(parse('subscription { a { b { c } } } fragment F on T { x }'), limits)
    expect(refusal(() => checkQueryShape(parse('subscription { a { ...F } } fragment F on T { b { c { d } } }'), limits))).toMatch(/3 levels/)
    expect(refusal(() => checkQueryShape(parse('subscription { a { ... on T { b c d e f g } } }'), limits))).toMatch(/6 fields/)
    expect(refusal(() => checkQueryShape(parse('subscription { a { x: b y: c } }'), limits))).toMatch(/1 aliases/)
  })

  it('measures an exponential fragment fan-out at once, without expanding it', () => {
    const levels = 40
    const fragments = Array.from({ length: levels }, (_, i) => `fragment F${i} on T { a: x ...F${i + 1} ...F${i + 1} }`).join('\n')
    const document = parse(`subscription { s { ...F0 } } ${fragments} fragment F${levels} on T { x }`)
    const started = performance.now()
    expect(refusal(() => checkQueryShape(document, { maxDepth: 10, maxFields: 1000, maxAliases: 1000 }))).toMatch(/1000 fields/)
    expect(performance.now() - started).toBeLessThan(50)
  })

  it('leaves fragment cycles, unknown fragments and duplicate names to validation', () => {
    checkQueryShape(parse('subscription { s { ...A ...Nope } } fragment A on T { ...B } fragment B on T { ...A }'), limits)
    expect(refusal(() => checkQueryShape(parse('subscription { s { ...A } } fragment A on T { x } fragment A on T { a: x b: x }'), limits))).toMatch(/aliases/)
  })

  it('refuses nesting that would overflow the parser, before parsing', () => {
    expect(() => parse(`subscription ${'{a'.repeat(5000)}${'}'.repeat(5000)}`)).toThrow(RangeError)
    for (const query of [`subscription ${'{a'.repeat(5000)}${'}'.repeat(5000)}`, `subscription { s(x: ${'['.repeat(5000)}) }`, `{ s(x: ${'{a:'.repeat(3000)} }`]) {
      expect(refusal(() => checkNesting(query, limits))).toMatch(/more than 64 levels/)
    }
    checkNesting(`subscription ${'{a'.repeat(60)}${'}'.repeat(60)}`, limits)
    checkNesting('subscription { s(x: "{{{{{{{{[[[[[[[[") } # {{{{{{{{{{', { ...limits, maxDepth: 1 })
    checkNesting('subscription { "unterminated', limits)
  })
})
