/**
 * `@openfed__subscriptionFilter` with the Cosmo router's semantics: which events of a subscription
 * reach the client, decided per event from its payload and the root field's arguments.
 *
 * A condition is AND, OR, NOT or IN. IN compares the payload value at `fieldPath` with each of
 * its values, which are static JSON values or `{{ args.… }}` templates. The comparison follows
 * the router's engine (graphql-go-tools) step by step, quirks included, because a graph moved to
 * the edge must deliver the same events:
 * - a payload that lacks the field (or is not a JSON object there) matches nothing;
 * - a value of one template alone compares by JSON type first: the number 1 never equals the
 *   string "1", and a value of another type than the payload's ends the whole IN without a match;
 *   an argument the client did not send ends it too;
 * - a template with text around it (`"user-{{ args.id }}"`) compares as text, an absent
 *   argument rendering as `null`;
 * - a list argument (`{{ args.ids }}`) matches when one of its items of the payload's type does;
 * - a rendered value holding two lists cannot be compared: the event gets an error.
 * Pure: nothing here does I/O or keeps state between events.
 */

/** One value of an IN, as the router's planner builds it from the config's `json`. */
export type FilterValue =
  /** JSON text compared as it is: `1`, `true`, `null`, `"text"`. */
  | { kind: 'static'; json: string }
  /** `prefix{{ args.path }}suffix`. */
  | { kind: 'template'; prefix: string; argumentPath: readonly string[]; suffix: string }

export type FilterCondition =
  | { and: readonly FilterCondition[] }
  | { or: readonly FilterCondition[] }
  | { not: FilterCondition }
  | { in: { fieldPath: readonly string[]; values: readonly FilterValue[] } }

/** `deliver` the event, `skip` it, or deliver this error in its place. */
export type FilterOutcome = 'deliver' | 'skip' | { error: string }

export class FilterDefinitionError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'FilterDefinitionError'
  }
}

/** The message the event gets when the filter cannot compare (the router's own wording). */
export const INVALID_TEMPLATE_MESSAGE = 'invalid subscription filter template'

// The router's argument template: `{{ args.a.b }}` with optional spaces.
const ARGUMENT_TEMPLATE = /\{\{\s*args((?:\.[a-zA-Z0-9_]+)+)\s*\}\}/g
const LIST = /\[(.*?)\]/g

class InvalidTemplate extends Error {}

/**
 * Reads a `subscriptionFilterCondition` as `wgc router compose` writes it into the execution
 * config (`{"in":{"fieldPath":["id"],"json":"[1,\"{{ args.id }}\"]"}}`, `and`, `or`, `not`).
 * Throws FilterDefinitionError naming what is wrong.
 */
export function readConfigFilter(raw: unknown, where = 'condition'): FilterCondition {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new FilterDefinitionError(`${where} is not an object`)
  const entries = Object.entries(raw as Record<string, unknown>).filter(([, value]) => value !== undefined && value !== null)
  const [entry, ...others] = entries
  if (!entry || others.length > 0) {
    throw new FilterDefinitionError(`${where} must hold exactly one of and, or, not, in (has: ${entries.map(([key]) => key).join(', ') || 'none'})`)
  }
  const [key, value] = entry
  switch (key) {
    case 'and':
    case 'or': {
      if (!Array.isArray(value) || value.length === 0) throw new FilterDefinitionError(`${where}.${key} must be a non-empty list`)
      const conditions = value.map((item, index) => readConfigFilter(item, `${where}.${key}[${index}]`))
      return key === 'and' ? { and: conditions } : { or: conditions }
    }
    case 'not':
      return { not: readConfigFilter(value, `${where}.not`) }
    case 'in':
      return { in: readFieldCondition(value, `${where}.in`) }
    default:
      throw new FilterDefinitionError(`${where} has "${key}", which is not a subscription filter condition (and, or, not, in)`)
  }
}

function readFieldCondition(raw: unknown, where: string): { fieldPath: string[]; values: FilterValue[] } {
  if (typeof raw !== 'object' || raw === null) throw new FilterDefinitionError(`${where} is not an object`)
  const { fieldPath, json, ...rest } = raw as Record<string, unknown>
  const [unknownKey] = Object.keys(rest).filter((key) => rest[key] !== undefined && rest[key] !== false)
  if (unknownKey !== undefined) throw new FilterDefinitionError(`${where} has "${unknownKey}", which edge-stream does not apply`)
  if (!Array.isArray(fieldPath) || fieldPath.length === 0 || fieldPath.some((segment) => typeof segment !== 'string' || segment === '')) {
    throw new FilterDefinitionError(`${where}.fieldPath must be a non-empty list of field names`)
  }
  if (typeof json !== 'string') throw new FilterDefinitionError(`${where}.json is not a string`)
  let values: unknown
  try {
    values = JSON.parse(json)
  } catch {
    throw new FilterDefinitionError(`${where}.json is not JSON`)
  }
  if (!Array.isArray(values) || values.length === 0) throw new FilterDefinitionError(`${where}.json must be a non-empty JSON list`)
  return { fieldPath: fieldPath as string[], values: values.map((value) => readValue(value, where)) }
}

/** As the router maps the config: strings with `{{` are templates, other strings are JSON strings, the rest JSON as it is. */
function readValue(value: unknown, where: string): FilterValue {
  if (typeof value !== 'string') {
    if (typeof value === 'object' && value !== null) throw new FilterDefinitionError(`${where} has a value that is a list or an object`)
    return { kind: 'static', json: JSON.stringify(value) }
  }
  if (!value.includes('{{')) return { kind: 'static', json: JSON.stringify(value) }
  const matches = [...value.matchAll(ARGUMENT_TEMPLATE)]
  const [match, ...more] = matches
  if (!match || more.length > 0) {
    throw new FilterDefinitionError(`${where} has the value ${JSON.stringify(value)}: a value holds exactly one {{ args.<argument>[.<field>…] }}`)
  }
  return {
    kind: 'template',
    prefix: value.slice(0, match.index),
    argumentPath: (match[1] ?? '').slice(1).split('.'),
    suffix: value.slice(match.index + match[0].length),
  }
}

/**
 * Reads the `condition` argument of `@openfed__subscriptionFilter` in an SDL (as a plain value:
 * `{ NOT: { IN: { fieldPath: "a.b", values: [1, "{{ args.id }}"] } } }`) into the form
 * composition writes to the execution config, then reads that.
 */
export function readSdlFilter(raw: unknown, where = 'condition'): FilterCondition {
  return readConfigFilter(toConfigForm(raw, where), where)
}

function toConfigForm(raw: unknown, where: string): unknown {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new FilterDefinitionError(`${where} is not an input object`)
  const form: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(raw as Record<string, unknown>)) {
    if (value === null || value === undefined) continue
    if (key === 'AND' || key === 'OR') {
      if (!Array.isArray(value)) throw new FilterDefinitionError(`${where}.${key} is not a list`)
      form[key.toLowerCase()] = value.map((item, index) => toConfigForm(item, `${where}.${key}[${index}]`))
    } else if (key === 'NOT') {
      form.not = toConfigForm(value, `${where}.NOT`)
    } else if (key === 'IN') {
      const { fieldPath, values } = value as { fieldPath?: unknown; values?: unknown }
      if (typeof fieldPath !== 'string') throw new FilterDefinitionError(`${where}.IN.fieldPath is not a string`)
      if (!Array.isArray(values)) throw new FilterDefinitionError(`${where}.IN.values is not a list`)
      form.in = { fieldPath: fieldPath.split('.'), json: JSON.stringify(values) }
    } else {
      throw new FilterDefinitionError(`${where} has "${key}", which is not a subscription filter condition (AND, OR, NOT, IN)`)
    }
  }
  return form
}

/** Every `{{ args.… }}` path of a condition, for the caller to check against the field's arguments. */
export function argumentPathsOf(condition: FilterCondition): (readonly string[])[] {
  if ('and' in condition) return condition.and.flatMap(argumentPathsOf)
  if ('or' in condition) return condition.or.flatMap(argumentPathsOf)
  if ('not' in condition) return argumentPathsOf(condition.not)
  return condition.in.values.flatMap((value) => (value.kind === 'template' ? [value.argumentPath] : []))
}

/**
 * Whether one event passes. `payload` is the event's parsed JSON (undefined when it is not JSON),
 * `args` the root field's arguments as the client sent them (JSON values, not coerced: an ID
 * sent as 1 stays the number 1, as in the router's variables).
 */
export function evaluateFilter(condition: FilterCondition, payload: unknown, args: Readonly<Record<string, unknown>>): FilterOutcome {
  try {
    return skips(condition, payload, args) ? 'skip' : 'deliver'
  } catch (error) {
    if (error instanceof InvalidTemplate) return { error: INVALID_TEMPLATE_MESSAGE }
    throw error
  }
}

function skips(condition: FilterCondition, payload: unknown, args: Readonly<Record<string, unknown>>): boolean {
  if ('and' in condition) return condition.and.some((each) => skips(each, payload, args))
  if ('or' in condition) return condition.or.every((each) => skips(each, payload, args))
  if ('not' in condition) return !skips(condition.not, payload, args)
  return inSkips(condition.in.fieldPath, condition.in.values, payload, args)
}

type JsonType = 'string' | 'number' | 'boolean' | 'null' | 'object' | 'array'

function inSkips(fieldPath: readonly string[], values: readonly FilterValue[], payload: unknown, args: Readonly<Record<string, unknown>>): boolean {
  const found = lookup(payload, fieldPath)
  if (found === undefined) return true
  const expectedType = jsonType(found)
  // The payload value as the router's JSON reader returns it: a string without its quotes.
  const expected = rawText(found)
  for (const value of values) {
    const rendered = render(value, args)
    if (!(rendered.includes('[') && rendered.includes(']'))) {
      if (value.kind === 'static' || (value.prefix === '' && value.suffix === '')) {
        let valueType: JsonType
        if (value.kind === 'template') {
          const argument = lookup(args, value.argumentPath)
          if (argument === undefined) return true
          valueType = jsonType(argument)
        } else {
          const parsed = parseJson(value.json)
          if (parsed === undefined) return true
          valueType = jsonType(parsed)
        }
        if (valueType !== expectedType) return true
        if (expected === rendered) return false
        if (expectedType === 'string' && JSON.stringify(expected) === rendered) return false
        continue
      }
      if (expected === rendered) return false
      continue
    }
    const lists = [...rendered.matchAll(LIST)]
    if (lists.length === 0) {
      if (expected === rendered) return false
      continue
    }
    if (lists.length !== 1) throw new InvalidTemplate()
    const listText = lists[0]![0]
    const items = parseJson(listText)
    if (!Array.isArray(items)) continue
    for (const item of items) {
      if (jsonType(item) !== expectedType) continue
      if (rendered.replace(listText, rawText(item)) === expected) return false
    }
  }
  return true
}

/** The router's plain rendering: strings without quotes, anything else as JSON, an absent argument as `null`. */
function render(value: FilterValue, args: Readonly<Record<string, unknown>>): string {
  if (value.kind === 'static') return value.json
  const argument = lookup(args, value.argumentPath)
  return value.prefix + (argument === undefined ? 'null' : rawText(argument)) + value.suffix
}

function rawText(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value).slice(1, -1) : JSON.stringify(value)
}

function jsonType(value: unknown): JsonType {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'array'
  const type = typeof value
  return type === 'string' || type === 'number' || type === 'boolean' ? type : 'object'
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}

/** Own properties of objects only, so a path never reaches Object.prototype. */
function lookup(root: unknown, path: readonly string[]): unknown {
  let value = root
  for (const key of path) {
    if (typeof value !== 'object' || value === null || Array.isArray(value) || !Object.hasOwn(value, key)) return undefined
    value = (value as Record<string, unknown>)[key]
  }
  return value
}
