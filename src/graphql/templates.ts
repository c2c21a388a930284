import { RequestError } from '../errors'
import type { SubscriptionRoute } from './schema'

export interface TemplateContext {
  args: Record<string, unknown>
  claims?: Record<string, unknown>
}

/** `{{ args.input.id }}` -> { source: 'args', path: ['input', 'id'], text: 'args.input.id' } */
export interface TemplateReference {
  source: 'args' | 'claims'
  path: string[]
  text: string
}
export type TemplatePart = string | TemplateReference

/** A subject, topic or channel template: its text as written and its parts, parsed once at load. */
export interface Template {
  text: string
  parts: TemplatePart[]
}

const PLACEHOLDER = /\{\{\s*([^{}]*?)\s*\}\}/g
const REFERENCE = /^(args|claims)((?:\.[_A-Za-z][_0-9A-Za-z]*)+)$/
const MAX_VALUE_LENGTH = 255
const MAX_ECHOED_LENGTH = 64
// A substituted value is one token: no NATS separator or wildcard, nothing that ends a subject.
const FORBIDDEN_IN_VALUE = /[\s\p{Cc}.*>]/u
// Kafka's topic charset is [A-Za-z0-9._-]; '.' is refused for the same reason as in NATS subjects.
const KAFKA_VALUE = /^[A-Za-z0-9_-]+$/

/** Splits a template into literal text and references; throws an Error naming the problem. */
export function parseTemplate(template: string): TemplatePart[] {
  const parts: TemplatePart[] = []
  let literalStart = 0
  for (const match of template.matchAll(PLACEHOLDER)) {
    const expression = match[1] ?? ''
    const reference = REFERENCE.exec(expression)
    if (!reference) {
      throw new Error(`placeholder "{{ ${expression} }}" must be args.<argument>[.<field>…] or claims.<claim>`)
    }
    pushLiteral(parts, template.slice(literalStart, match.index))
    parts.push({
      source: reference[1] as 'args' | 'claims',
      path: (reference[2] ?? '').slice(1).split('.'),
      text: expression,
    })
    literalStart = match.index + match[0].length
  }
  pushLiteral(parts, template.slice(literalStart))
  return parts
}

function pushLiteral(parts: TemplatePart[], literal: string): void {
  if (literal.includes('{{') || literal.includes('}}')) throw new Error('unbalanced "{{" or "}}"')
  if (literal !== '') parts.push(literal)
}

/** The concrete subjects / topics / channels of a route for one subscription, deduplicated in order. */
export function resolveTemplates(route: SubscriptionRoute, ctx: TemplateContext): string[] {
  const resolved = new Set<string>()
  for (const template of route.templates) {
    let text = ''
    for (const part of template.parts) {
      text += typeof part === 'string' ? part : renderValue(route, part, ctx)
    }
    resolved.add(text)
  }
  return [...resolved]
}

function renderValue(route: SubscriptionRoute, reference: TemplateReference, ctx: TemplateContext): string {
  const value = lookup(reference.source === 'args' ? ctx.args : ctx.claims, reference.path)
  if (value == null) {
    if (reference.source === 'claims') {
      throw new RequestError(403, 'FORBIDDEN', `The token lacks the claim ${reference.path.join('.')} that this subscription requires`)
    }
    throw invalid(reference, 'is missing')
  }
  if (typeof value !== 'string' && typeof value !== 'boolean' && !(typeof value === 'number' && Number.isFinite(value))) {
    throw invalid(reference, 'must be a string, a finite number or a boolean')
  }
  const text = String(value)
  if (text.length < 1 || text.length > MAX_VALUE_LENGTH) {
    throw invalid(reference, `must be 1 to ${MAX_VALUE_LENGTH} characters long`)
  }
  const target = route.kind === 'nats' ? 'subject' : route.kind === 'kafka' ? 'topic' : 'channel'
  if (FORBIDDEN_IN_VALUE.test(text)) {
    throw invalid(reference, `${echo(text)} must not contain whitespace, control characters, ".", "*" or ">" (it is one token of a ${target})`)
  }
  if (route.kind === 'kafka' && !KAFKA_VALUE.test(text)) {
    throw invalid(reference, `${echo(text)} may only contain letters, digits, "_" and "-" (it is part of a Kafka topic)`)
  }
  return text
}

/** Walks own properties only, so a path can never reach Object.prototype. */
function lookup(root: Record<string, unknown> | undefined, path: readonly string[]): unknown {
  let value: unknown = root
  for (const key of path) {
    if (typeof value !== 'object' || value === null || !Object.hasOwn(value, key)) return undefined
    value = (value as Record<string, unknown>)[key]
  }
  return value
}

function invalid(reference: TemplateReference, reason: string): RequestError {
  return new RequestError(400, 'INVALID_ARGUMENT', `The value of ${reference.text} ${reason}`)
}

/** The offending value, quoted and cut short so a huge value is never echoed whole. */
function echo(text: string): string {
  const shown = text.length > MAX_ECHOED_LENGTH ? `${text.slice(0, MAX_ECHOED_LENGTH)}…` : text
  return `(${JSON.stringify(shown)})`
}
