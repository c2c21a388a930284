import { describe, expect, it } from 'vitest'
import { RequestError } from '../../../src/errors'
import type { ProviderKind, SubscriptionRoute } from '../../../src/graphql/schema'
import { parseTemplate, resolveTemplates, type TemplateContext } from '../../../src/graphql/templates'

function route(templates: string[], kind: ProviderKind = 'nats'): SubscriptionRoute {
  return { kind, providerId: 'default', templates: templates.map((text) => ({ text, parts: parseTemplate(text) })) }
}

function refusal(templates: string[], ctx: TemplateContext, kind: ProviderKind = 'nats'): RequestError {
  try {
    resolveTemplates(route(templates, kind), ctx)
  } catch (error) {
    expect(error).toBeInstanceOf(RequestError)
    return error as RequestError
  }
  throw new Error('expected a RequestError')
}

describe('parseTemplate', () => {
  it('splits literals and references', () => {
    expect(parseTemplate('a.{{ args.input.id }}.b.{{claims.sub}}')).toEqual([
      'a.',
      { source: 'args', path: ['input', 'id'], text: 'args.input.id' },
      '.b.',
      { source: 'claims', path: ['sub'], text: 'claims.sub' },
    ])
  })
})

describe('resolveTemplates', () => {
  it('substitutes arguments, with or without spaces inside the braces', () => {
    expect(resolveTemplates(route(['employeeUpdated.{{ args.id }}', 'x.{{args.id}}.{{   args.name   }}']), { args: { id: 7, name: 'ada' } })).toEqual([
      'employeeUpdated.7',
      'x.7.ada',
    ])
  })

  it('leaves static templates alone', () => {
    expect(resolveTemplates(route(['demo.tick']), { args: {} })).toEqual(['demo.tick'])
  })

  it('renders strings, integers, negative numbers and booleans with String()', () => {
    expect(resolveTemplates(route(['{{ args.a }}-{{ args.b }}-{{ args.c }}-{{ args.d }}']), { args: { a: 'x', b: 42, c: -3, d: false } })).toEqual([
      'x-42--3-false',
    ])
  })

  it('substitutes nested input fields and JWT claims', () => {
    const ctx = { args: { filter: { region: { code: 'eu' } } }, claims: { sub: 'user-1', org: { id: 9 } } }
    expect(resolveTemplates(route(['orders.{{ args.filter.region.code }}.{{ claims.sub }}.{{ claims.org.id }}']), ctx)).toEqual(['orders.eu.user-1.9'])
  })

  it('deduplicates, keeping the first occurrence order', () => {
    expect(resolveTemplates(route(['b.{{ args.x }}', 'a.{{ args.y }}', 'b.{{ args.y }}']), { args: { x: 1, y: 1 } })).toEqual(['b.1', 'a.1'])
  })

  it.each([
    ['a NATS wildcard "*"', '*'],
    ['a NATS tail wildcard ">"', '>'],
    ['a subject separator "."', 'a.b'],
    ['a float, whose "." would split the token', 1.5],
    ['a space', 'a b'],
    ['a tab', 'a\tb'],
    ['a line feed', 'a\nb'],
    ['a NUL', 'a\u0000b'],
    ['a DEL', 'a\u007fb'],
    ['a no-break space', 'a\u00a0b'],
  ])('refuses %s with 400 INVALID_ARGUMENT naming the argument', (_case, value) => {
    const error = refusal(['employeeUpdated.{{ args.id }}'], { args: { id: value } })
    expect(error.status).toBe(400)
    expect(error.code).toBe('INVALID_ARGUMENT')
    expect(error.message).toMatch(/args\.id .*must not contain whitespace, control characters, "\.", "\*" or ">"/)
  })

  it('refuses empty and over-long values', () => {
    expect(refusal(['e.{{ args.id }}'], { args: { id: '' } }).message).toMatch(/args\.id must be 1 to 255 characters long/)
    expect(resolveTemplates(route(['{{ args.id }}']), { args: { id: 'x'.repeat(255) } })).toEqual(['x'.repeat(255)])
    expect(refusal(['e.{{ args.id }}'], { args: { id: 'x'.repeat(256) } }).code).toBe('INVALID_ARGUMENT')
  })

  it('never echoes a huge value whole', () => {
    const error = refusal(['e.{{ args.id }}'], { args: { id: `*${'a'.repeat(200)}` } })
    expect(error.message.length).toBeLessThan(200)
    expect(error.message).toContain(`"*${'a'.repeat(63)}…"`)
    expect(refusal(['e.{{ args.id }}'], { args: { id: 'a'.repeat(100_000) } }).message.length).toBeLessThan(100)
  })

  it.each([
    ['an object', { a: 1 }],
    ['an array', ['a']],
    ['NaN', Number.NaN],
    ['Infinity', Number.POSITIVE_INFINITY],
  ])('refuses %s as a value', (_case, value) => {
    const error = refusal(['e.{{ args.id }}'], { args: { id: value } })
    expect(error.status).toBe(400)
    expect(error.message).toMatch(/args\.id must be a string, a finite number or a boolean/)
  })

  it('refuses a missing argument, at any depth, with 400', () => {
    for (const args of [{}, { id: null }, { id: undefined }]) {
      const error = refusal(['e.{{ args.id }}'], { args })
      expect([error.status, error.code]).toEqual([400, 'INVALID_ARGUMENT'])
      expect(error.message).toMatch(/args\.id is missing/)
    }
    expect(refusal(['e.{{ args.f.region }}'], { args: { f: {} } }).message).toMatch(/args\.f\.region is missing/)
    expect(refusal(['e.{{ args.f.region }}'], { args: { f: null } }).message).toMatch(/args\.f\.region is missing/)
  })

  it('refuses a missing claim with 403, and never reads inherited properties', () => {
    for (const claims of [undefined, {}, { sub: null }, { other: 'x' }]) {
      const error = refusal(['e.{{ claims.sub }}'], claims === undefined ? { args: {} } : { args: {}, claims })
      expect([error.status, error.code]).toEqual([403, 'FORBIDDEN'])
      expect(error.message).toMatch(/claim sub/)
    }
    expect(refusal(['e.{{ claims.constructor }}'], { args: {}, claims: {} }).status).toBe(403)
    expect(refusal(['e.{{ claims.toString }}'], { args: {}, claims: {} }).status).toBe(403)
  })

  it('applies the same value rules to claims', () => {
    const error = refusal(['e.{{ claims.email }}'], { args: {}, claims: { email: 'ada@example.com' } })
    expect([error.status, error.code]).toEqual([400, 'INVALID_ARGUMENT'])
    expect(error.message).toMatch(/claims\.email/)
  })

  it('allows any other character in NATS subjects and Redis keys', () => {
    expect(resolveTemplates(route(['e.{{ args.id }}']), { args: { id: 'é:ü-+/#' } })).toEqual(['e.é:ü-+/#'])
    expect(resolveTemplates(route(['prices:{{ args.id }}'], 'redis'), { args: { id: 'AAPL:US' } })).toEqual(['prices:AAPL:US'])
  })

  it('restricts Kafka values to letters, digits, "_" and "-"', () => {
    expect(resolveTemplates(route(['orders-{{ args.region }}'], 'kafka'), { args: { region: 'eu_West-1' } })).toEqual(['orders-eu_West-1'])
    for (const region of ['eu+1', 'é', 'a:b', 'a/b', 'a#b', 'a.b']) {
      const error = refusal(['orders-{{ args.region }}'], { args: { region } }, 'kafka')
      expect([error.status, error.code]).toEqual([400, 'INVALID_ARGUMENT'])
      expect(error.message).toMatch(/args\.region/)
    }
  })
})
