/**
 * The subscription filter against the cases of the Cosmo router's engine
 * (graphql-go-tools resolve/subscription_filter_test.go), written as the execution config
 * carries them, plus the config and SDL forms composition produces.
 */
import { describe, expect, it } from 'vitest'
import {
  evaluateFilter,
  FilterDefinitionError,
  INVALID_TEMPLATE_MESSAGE,
  readConfigFilter,
  readSdlFilter,
  type FilterCondition,
} from '../../../src/graphql/subscription-filter'

/** An IN on `fieldPath` with the config's `json` list. */
const inOf = (fieldPath: string, values: unknown[]): FilterCondition => readConfigFilter({ in: { fieldPath: fieldPath.split('.'), json: JSON.stringify(values) } })
const onVar = (fieldPath = 'event'): FilterCondition => inOf(fieldPath, ['{{ args.var }}'])
const passes = (condition: FilterCondition, payload: unknown, args: Record<string, unknown> = {}) => evaluateFilter(condition, payload, args)

describe('IN with one template (the router engine cases)', () => {
  it('matches a boolean, a float and an int of the same type', () => {
    expect(passes(onVar(), { event: true }, { var: true })).toBe('deliver')
    expect(passes(onVar(), { event: 1.13 }, { var: 1.13 })).toBe('deliver')
    expect(passes(onVar(), { event: 49 }, { var: 49 })).toBe('deliver')
  })

  it('does not match the same text of another JSON type, either way round', () => {
    expect(passes(onVar(), { event: true }, { var: 'false' })).toBe('skip')
    expect(passes(onVar(), { event: true }, { var: 'true' })).toBe('skip')
    expect(passes(onVar(), { event: 'true' }, { var: true })).toBe('skip')
    expect(passes(onVar(), { event: 1.13 }, { var: '1.13' })).toBe('skip')
    expect(passes(onVar(), { event: '1.13' }, { var: 1.13 })).toBe('skip')
    expect(passes(onVar(), { event: 49 }, { var: '49' })).toBe('skip')
    expect(passes(onVar(), { event: '49' }, { var: 49 })).toBe('skip')
  })

  it('does not match other values', () => {
    expect(passes(onVar(), { event: 8.01 }, { var: '9.77' })).toBe('skip')
    expect(passes(onVar(), { event: 321 }, { var: 123 })).toBe('skip')
  })

  it('matches a list argument when one item of the payload type equals the value', () => {
    expect(passes(onVar(), { event: 'c' }, { var: ['a', 'b', 'c'] })).toBe('deliver')
    expect(passes(onVar(), { event: 'c' }, { var: ['a', 'b'] })).toBe('skip')
    expect(passes(onVar(), { event: 2 }, { var: [1, '2'] })).toBe('skip')
    expect(passes(onVar(), { event: 2 }, { var: [1, 2] })).toBe('deliver')
  })

  it('skips the event when the argument was not sent', () => {
    expect(passes(onVar(), { event: 'b' }, {})).toBe('skip')
    expect(passes(onVar(), { event: null }, {})).toBe('skip')
  })

  it('compares a null argument with a null payload value', () => {
    expect(passes(onVar(), { event: null }, { var: null })).toBe('deliver')
    expect(passes(onVar(), { event: 'null' }, { var: null })).toBe('skip')
  })
})

describe('IN with static values', () => {
  it('matches strings, booleans and null by type and value', () => {
    expect(passes(inOf('eventX', ['b']), { eventX: 'b' })).toBe('deliver')
    expect(passes(inOf('eventX', [true]), { eventX: true, eventY: 'c' })).toBe('deliver')
    expect(passes(inOf('eventX', [null]), { eventX: null, eventY: 'c' })).toBe('deliver')
    expect(passes(inOf('id', [1, 3, 4]), { id: 3 })).toBe('deliver')
    expect(passes(inOf('id', [1, 3, 4]), { id: 2 })).toBe('skip')
  })

  it('never matches a string value against a number payload, as in the Cosmo demo ("1" vs 1)', () => {
    expect(passes(inOf('id', ['1']), { id: 1 })).toBe('skip')
    expect(passes(inOf('id', ['1']), { id: '1' })).toBe('deliver')
  })

  it('ends the IN at the first value of another type than the payload, as the router does', () => {
    expect(passes(inOf('id', ['a', 1]), { id: 1 })).toBe('skip')
    expect(passes(inOf('id', [1, 'a']), { id: 1 })).toBe('deliver')
  })
})

describe('fieldPath', () => {
  it('follows dotted paths through objects', () => {
    const condition = inOf('employee.details.forename', ['{{ args.name }}'])
    expect(passes(condition, { employee: { details: { forename: 'Jens' } } }, { name: 'Jens' })).toBe('deliver')
    expect(passes(condition, { employee: { details: { forename: 'Dustin' } } }, { name: 'Jens' })).toBe('skip')
  })

  it('skips payloads that lack the field, are not objects there, or are not JSON', () => {
    const condition = inOf('a.b', [1])
    expect(passes(condition, { a: {} })).toBe('skip')
    expect(passes(condition, { a: [{ b: 1 }] })).toBe('skip')
    expect(passes(condition, { a: 'x' })).toBe('skip')
    expect(passes(condition, undefined)).toBe('skip')
    expect(passes(condition, { a: { b: 1 } })).toBe('deliver')
  })

  it('never reaches Object.prototype', () => {
    expect(passes(inOf('constructor', ['{{ args.var }}']), {}, { var: 'x' })).toBe('skip')
  })
})

describe('templates with text around them', () => {
  it('compare as text: prefix and suffix around the argument', () => {
    const condition = inOf('user', ['user-{{ args.id }}-x'])
    expect(passes(condition, { user: 'user-7-x' }, { id: 7 })).toBe('deliver')
    expect(passes(condition, { user: 'user-8-x' }, { id: 7 })).toBe('skip')
  })

  it('render an absent argument as null, as the router does', () => {
    expect(passes(inOf('user', ['user-{{ args.id }}']), { user: 'user-null' }, {})).toBe('deliver')
  })

  it('explode a list argument in place', () => {
    const condition = inOf('user', ['user-{{ args.ids }}'])
    expect(passes(condition, { user: 'user-b' }, { ids: ['a', 'b'] })).toBe('deliver')
    expect(passes(condition, { user: 'user-c' }, { ids: ['a', 'b'] })).toBe('skip')
  })

  it('give the event an error when the rendered value holds two lists', () => {
    const condition = inOf('user', ['{{ args.pair }}'])
    expect(passes(condition, { user: 'x' }, { pair: [[1], [2]] })).toEqual({ error: INVALID_TEMPLATE_MESSAGE })
  })

  it('read nested arguments', () => {
    expect(passes(inOf('id', ['{{ args.input.ids }}']), { id: 12 }, { input: { ids: [1, 12] } })).toBe('deliver')
  })
})

describe('AND, OR, NOT', () => {
  const x = inOf('eventX', ['{{ args.first }}'])
  const y = inOf('eventY', ['{{ args.second }}'])
  const payload = { eventX: 'b', eventY: 'c' }

  it('NOT inverts', () => {
    expect(passes({ not: onVar() }, { event: 'b' }, { var: 'b' })).toBe('skip')
    expect(passes({ not: onVar() }, { event: 'c' }, { var: 'b' })).toBe('deliver')
    // A payload without the field fails the IN, so NOT lets it through, as the router does.
    expect(passes({ not: onVar() }, {}, { var: 'b' })).toBe('deliver')
  })

  it('AND needs every condition', () => {
    expect(passes({ and: [x, y] }, payload, { first: 'b', second: 'c' })).toBe('deliver')
    expect(passes({ and: [x, y] }, payload, { first: 'd', second: 'c' })).toBe('skip')
    expect(passes({ and: [x, y] }, payload, { first: 'b', unused: 'c' })).toBe('skip')
  })

  it('OR needs one condition', () => {
    expect(passes({ or: [x, y] }, payload, { first: 'b', second: 'c' })).toBe('deliver')
    expect(passes({ or: [x, y] }, payload, { first: 'b', unused: 'c' })).toBe('deliver')
    expect(passes({ or: [x, y] }, payload, { third: 'b', second: 'c' })).toBe('deliver')
    expect(passes({ or: [x, y] }, payload, { first: 'x', second: 'y' })).toBe('skip')
  })

  it('the Cosmo demo filter: NOT IN id [2, 6, 9, 10, 12]', () => {
    const demo = readConfigFilter({ not: { in: { fieldPath: ['id'], json: '[2,6,9,10,12]' } } })
    const delivered = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12].filter((id) => passes(demo, { __typename: 'Employee', id }) === 'deliver')
    expect(delivered).toEqual([1, 3, 4, 5, 7, 8, 11])
  })
})

describe('reading conditions', () => {
  it('reads the SDL form as composition writes it to the config', () => {
    const fromSdl = readSdlFilter({ OR: [{ IN: { fieldPath: 'id', values: ['{{ args.input.ids }}'] } }, { IN: { fieldPath: 'id', values: ['1'] } }] })
    const fromConfig = readConfigFilter({
      or: [{ in: { fieldPath: ['id'], json: '["{{ args.input.ids }}"]' } }, { in: { fieldPath: ['id'], json: '["1"]' } }],
    })
    expect(fromSdl).toEqual(fromConfig)
    expect(readSdlFilter({ NOT: { IN: { fieldPath: 'a.b', values: [2, null, true] } } })).toEqual({
      not: { in: { fieldPath: ['a', 'b'], values: [{ kind: 'static', json: '2' }, { kind: 'static', json: 'null' }, { kind: 'static', json: 'true' }] } },
    })
  })

  it('refuses what it cannot apply, naming it', () => {
    const refusal = (raw: unknown) => () => readConfigFilter(raw)
    expect(refusal({ in: { fieldPath: ['id'], json: '[1]' }, not: { in: { fieldPath: ['id'], json: '[1]' } } })).toThrow(/exactly one of and, or, not, in/)
    expect(refusal({ xor: [] })).toThrow(FilterDefinitionError)
    expect(refusal({ and: [] })).toThrow(/condition.and must be a non-empty list/)
    expect(refusal({ in: { fieldPath: ['id'], json: '[1' } })).toThrow(/condition.in.json is not JSON/)
    expect(refusal({ in: { fieldPath: ['id'], json: '["{{ args.a }}-{{ args.b }}"]' } })).toThrow(/exactly one \{\{ args/)
    expect(refusal({ in: { fieldPath: ['id'], json: '["{{ claims.sub }}"]' } })).toThrow(/exactly one \{\{ args/)
    expect(refusal({ in: { fieldPath: ['id'], json: '[1]', bypassIfValuesNull: true } })).toThrow(/"bypassIfValuesNull", which edge-stream does not apply/)
  })
})
