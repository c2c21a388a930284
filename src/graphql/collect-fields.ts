import {
  GraphQLIncludeDirective,
  GraphQLSkipDirective,
  Kind,
  getDirectiveValues,
  isAbstractType,
  typeFromAST,
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLObjectType,
  type GraphQLSchema,
  type InlineFragmentNode,
  type SelectionSetNode,
} from 'graphql'

/**
 * Field collection exactly as graphql-js 16 `execution/collectFields` does it. That module is
 * internal (not exported from 'graphql'), and an extensionless deep import of it does not resolve
 * under plain Node ESM, so it is restated here on top of public APIs.
 */

export type Fragments = Readonly<Record<string, FragmentDefinitionNode>>
export type Variables = Readonly<Record<string, unknown>>
/** Response key -> the field nodes merged under it, in selection order. */
export type CollectedFields = Map<string, FieldNode[]>

export function fragmentsOf(document: DocumentNode): Fragments {
  const fragments: Record<string, FragmentDefinitionNode> = Object.create(null)
  for (const definition of document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments[definition.name.value] = definition
  }
  return fragments
}

export function collectFields(
  schema: GraphQLSchema,
  fragments: Fragments,
  variables: Variables,
  runtimeType: GraphQLObjectType,
  selectionSet: SelectionSetNode,
): CollectedFields {
  const fields: CollectedFields = new Map()
  collectInto(schema, fragments, variables, runtimeType, selectionSet, fields, new Set())
  return fields
}

/** The sub-fields of merged field nodes; fragments already spread in one node are not spread again. */
export function collectSubfields(
  schema: GraphQLSchema,
  fragments: Fragments,
  variables: Variables,
  returnType: GraphQLObjectType,
  fieldNodes: readonly FieldNode[],
): CollectedFields {
  const fields: CollectedFields = new Map()
  const visitedFragments = new Set<string>()
  for (const node of fieldNodes) {
    if (node.selectionSet) collectInto(schema, fragments, variables, returnType, node.selectionSet, fields, visitedFragments)
  }
  return fields
}

function collectInto(
  schema: GraphQLSchema,
  fragments: Fragments,
  variables: Variables,
  runtimeType: GraphQLObjectType,
  selectionSet: SelectionSetNode,
  fields: CollectedFields,
  visitedFragments: Set<string>,
): void {
  for (const selection of selectionSet.selections) {
    switch (selection.kind) {
      case Kind.FIELD: {
        if (!isIncluded(variables, selection)) continue
        const key = selection.alias ? selection.alias.value : selection.name.value
        const merged = fields.get(key)
        if (merged) merged.push(selection)
        else fields.set(key, [selection])
        break
      }
      case Kind.INLINE_FRAGMENT: {
        if (!isIncluded(variables, selection) || !conditionMatches(schema, selection, runtimeType)) continue
        collectInto(schema, fragments, variables, runtimeType, selection.selectionSet, fields, visitedFragments)
        break
      }
      case Kind.FRAGMENT_SPREAD: {
        const name = selection.name.value
        if (visitedFragments.has(name) || !isIncluded(variables, selection)) continue
        // Marked visited before the type check, as graphql-js does.
        visitedFragments.add(name)
        const fragment = fragments[name]
        if (!fragment || !conditionMatches(schema, fragment, runtimeType)) continue
        collectInto(schema, fragments, variables, runtimeType, fragment.selectionSet, fields, visitedFragments)
        break
      }
    }
  }
}

function isIncluded(variables: Variables, node: Parameters<typeof getDirectiveValues>[1]): boolean {
  if (getDirectiveValues(GraphQLSkipDirective, node, variables)?.if === true) return false
  return getDirectiveValues(GraphQLIncludeDirective, node, variables)?.if !== false
}

function conditionMatches(
  schema: GraphQLSchema,
  fragment: InlineFragmentNode | FragmentDefinitionNode,
  type: GraphQLObjectType,
): boolean {
  if (!fragment.typeCondition) return true
  const conditionType = typeFromAST(schema, fragment.typeCondition)
  if (conditionType === type) return true
  return isAbstractType(conditionType) && schema.isSubType(conditionType, type)
}
