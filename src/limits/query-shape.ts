import { GraphQLError, Kind, Lexer, Source, TokenKind, type DocumentNode, type FragmentDefinitionNode, type SelectionSetNode } from 'graphql'
import { RequestError } from '../errors'
import type { Limits } from './limits'

export type QueryShapeLimits = Pick<Limits, 'maxDepth' | 'maxFields' | 'maxAliases'>

const OPENING = new Set<TokenKind>([TokenKind.BRACE_L, TokenKind.BRACKET_L, TokenKind.PAREN_L])
const CLOSING = new Set<TokenKind>([TokenKind.BRACE_R, TokenKind.BRACKET_R, TokenKind.PAREN_R])

/**
 * graphql-js parses recursively: a few thousand nested `{` or `[` overflow the stack. Nesting is
 * therefore counted on the tokens, before parsing, with room for inline fragments and nested
 * input values around `maxDepth` fields. A lexical error is left for the parser to report.
 */
export function checkNesting(query: string, limits: QueryShapeLimits): void {
  const maxNesting = Math.max(64, 4 * limits.maxDepth)
  const lexer = new Lexer(new Source(query))
  let nesting = 0
  try {
    for (let token = lexer.advance(); token.kind !== TokenKind.EOF; token = lexer.advance()) {
      if (OPENING.has(token.kind) && ++nesting > maxNesting) break
      if (CLOSING.has(token.kind)) nesting--
    }
  } catch (error) {
    if (error instanceof GraphQLError) return
    throw error
  }
  if (nesting > maxNesting) throw tooComplex(`The query nests braces, brackets or parentheses more than ${maxNesting} levels deep`)
}

interface Shape {
  depth: number
  fields: number
  aliases: number
}

const EMPTY: Shape = { depth: 0, fields: 0, aliases: 0 }

/**
 * Depth, fields and aliases of every operation and fragment, counted through fragment spreads
 * (each fragment measured once, so a "fragment bomb" costs nothing to measure). Runs before
 * validation, whose cost grows faster than the number of fields; cycles and unknown fragments
 * count as empty and are left for validation to report.
 */
export function checkQueryShape(document: DocumentNode, limits: QueryShapeLimits): void {
  const fragments = new Map<string, FragmentDefinitionNode>()
  for (const definition of document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION && !fragments.has(definition.name.value)) fragments.set(definition.name.value, definition)
  }
  const measured = new Map<string, Shape>()
  const measuring = new Set<string>()
  // Sums are capped just above the limits so that an exponential fragment fan-out stays a small number.
  const cap = (value: number, max: number) => Math.min(value, max + 1)

  const fragmentShape = (name: string): Shape => {
    const known = measured.get(name)
    if (known) return known
    const fragment = fragments.get(name)
    if (!fragment || measuring.has(name)) return EMPTY
    measuring.add(name)
    const shape = selectionShape(fragment.selectionSet)
    measuring.delete(name)
    measured.set(name, shape)
    return shape
  }

  const selectionShape = (selectionSet: SelectionSetNode): Shape => {
    let depth = 0
    let fields = 0
    let aliases = 0
    for (const selection of selectionSet.selections) {
      let shape: Shape
      if (selection.kind === Kind.FIELD) {
        const inner = selection.selectionSet ? selectionShape(selection.selectionSet) : EMPTY
        shape = { depth: inner.depth + 1, fields: inner.fields + 1, aliases: inner.aliases + (selection.alias ? 1 : 0) }
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        shape = selectionShape(selection.selectionSet)
      } else {
        shape = fragmentShape(selection.name.value)
      }
      depth = Math.max(depth, shape.depth)
      fields = cap(fields + shape.fields, limits.maxFields)
      aliases = cap(aliases + shape.aliases, limits.maxAliases)
    }
    return { depth, fields, aliases }
  }

  for (const definition of document.definitions) {
    if (definition.kind !== Kind.OPERATION_DEFINITION && definition.kind !== Kind.FRAGMENT_DEFINITION) continue
    // Every definition on its own, a duplicate fragment name included: validation would read it too.
    const shape = selectionShape(definition.selectionSet)
    if (shape.depth > limits.maxDepth) throw tooComplex(`The query nests fields more than ${limits.maxDepth} levels deep`)
    if (shape.fields > limits.maxFields) throw tooComplex(`The query selects more than ${limits.maxFields} fields`)
    if (shape.aliases > limits.maxAliases) throw tooComplex(`The query uses more than ${limits.maxAliases} aliases`)
  }
}

function tooComplex(message: string): RequestError {
  return new RequestError(400, 'GRAPHQL_VALIDATION_FAILED', message)
}
