import {
  GraphQLError,
  Kind,
  TypeInfo,
  getArgumentValues,
  getVariableValues,
  parse,
  validate,
  valueFromASTUntyped,
  visit,
  visitWithTypeInfo,
  type DocumentNode,
  type FieldNode,
  type GraphQLField,
  type GraphQLSchema,
  type OperationDefinitionNode,
} from 'graphql'
import { RequestError } from '../errors'
import { defaultLimits } from '../limits/limits'
import { checkNesting, checkQueryShape, type QueryShapeLimits } from '../limits/query-shape'
import { collectFields, fragmentsOf } from './collect-fields'
import type { FieldAuthorization } from './directives'
import { compileProjection } from './projection'
import type { EdfsSchema, SubscriptionRoute } from './schema'

export interface GraphQLParams {
  query: string
  variables?: Record<string, unknown>
  operationName?: string
}

export interface PreparedSubscription {
  /** Schema name of the single root field. */
  fieldName: string
  /** Its alias, or its name. */
  responseKey: string
  route: SubscriptionRoute
  /** Coerced argument values of the root field. */
  args: Record<string, unknown>
  /**
   * The root field's arguments as the client sent them (literals and variables as JSON values,
   * not coerced: an ID sent as 1 stays a number), as the Cosmo router's subscription filters
   * compare them.
   */
  argumentsAsSent: Record<string, unknown>
  /** The selected fields that `@authenticated`/`@requiresScopes` guard, with what each asks. */
  guardedFields: readonly GuardedField[]
  /** JSON text of the ExecutionResult for one event whose payload is the root field's value. */
  project: (payload: unknown) => string
  /** The validated request, for what resolves more than the payload holds (entities of a federated graph). */
  request: { document: DocumentNode; operation: OperationDefinitionNode; variables: Record<string, unknown> }
}

export interface GuardedField {
  /** `Type.field`. */
  coordinate: string
  requirement: FieldAuthorization
}

/**
 * Reads the GraphQL-over-HTTP parameters as a GET query string gives them (variables and
 * extensions as JSON text) or a POST body does (objects). An empty GET parameter counts as absent.
 */
export function parseGraphQLParams(input: { query?: unknown; variables?: unknown; operationName?: unknown; extensions?: unknown }): GraphQLParams {
  if (typeof input.query !== 'string' || input.query.trim() === '') throw badRequest('Missing query')
  const params: GraphQLParams = { query: input.query }
  const variables = jsonObjectParam('variables', input.variables)
  if (variables) params.variables = variables
  jsonObjectParam('extensions', input.extensions) // validated only: no extension is supported
  if (input.operationName != null && input.operationName !== '') {
    if (typeof input.operationName !== 'string') throw badRequest('operationName must be a string')
    params.operationName = input.operationName
  }
  return params
}

function jsonObjectParam(name: string, raw: unknown): Record<string, unknown> | undefined {
  let value = raw
  if (typeof raw === 'string') {
    if (raw === '') return undefined
    try {
      value = JSON.parse(raw)
    } catch {
      throw badRequest(`${name} is not valid JSON`)
    }
  }
  if (value == null) return undefined
  if (typeof value !== 'object' || Array.isArray(value)) throw badRequest(`${name} must be a JSON object`)
  return value as Record<string, unknown>
}

/** Parses, validates and compiles one subscription request against the EDFS schema, within `limits`. */
export function prepareSubscription(edfs: EdfsSchema, params: GraphQLParams, limits: QueryShapeLimits = defaultLimits): PreparedSubscription {
  const { schema } = edfs
  checkNesting(params.query, limits)
  const document = parseQuery(params.query)
  checkQueryShape(document, limits)
  const operation = selectOperation(document, params.operationName)
  // Checked before validation so that a query or mutation is told plainly what is wrong.
  if (operation.operation !== 'subscription') {
    throw new RequestError(400, 'NOT_A_SUBSCRIPTION', `Only subscriptions are served here, not a ${operation.operation}`)
  }
  const [validationError] = validateQuery(schema, document)
  if (validationError) throw new RequestError(400, 'GRAPHQL_VALIDATION_FAILED', validationError.message)

  const coerced = getVariableValues(schema, operation.variableDefinitions ?? [], params.variables ?? {})
  if (coerced.errors) throw new RequestError(400, 'INVALID_ARGUMENT', coerced.errors[0]!.message)
  const variables = coerced.coerced

  // Validation ran without variable values, so @skip/@include may still leave no root field.
  const subscriptionType = schema.getSubscriptionType()!
  const rootFields = [...collectFields(schema, fragmentsOf(document), variables, subscriptionType, operation.selectionSet)]
  if (rootFields.length !== 1) throw badRequest('A subscription must select exactly one root field')
  const [responseKey, fieldNodes] = rootFields[0]!
  const fieldName = fieldNodes[0]!.name.value
  const route = edfs.routes.get(fieldName)
  const field = subscriptionType.getFields()[fieldName]
  if (!route || !field) throw badRequest(`${subscriptionType.name}.${fieldName} is not served`)

  let args: Record<string, unknown>
  try {
    args = getArgumentValues(field, fieldNodes[0]!, variables)
  } catch (error) {
    throw new RequestError(400, 'INVALID_ARGUMENT', (error as Error).message)
  }
  return {
    fieldName,
    responseKey,
    route,
    args,
    argumentsAsSent: argumentsAsSent(field, fieldNodes[0]!, operation, params.variables ?? {}),
    guardedFields: edfs.authorizations.size === 0 ? [] : guardedFields(schema, document, operation, edfs.authorizations),
    project: compileProjection(schema, document, operation, variables, fieldName),
    request: { document, operation, variables },
  }
}

function argumentsAsSent(
  field: GraphQLField<unknown, unknown>,
  node: FieldNode,
  operation: OperationDefinitionNode,
  variables: Record<string, unknown>,
): Record<string, unknown> {
  const sent: Record<string, unknown> = {}
  for (const definition of operation.variableDefinitions ?? []) {
    if (definition.defaultValue) sent[definition.variable.name.value] = valueFromASTUntyped(definition.defaultValue)
  }
  const variableValues = { ...sent, ...variables }
  const values: Record<string, unknown> = {}
  for (const argument of field.args) {
    if (argument.astNode?.defaultValue) values[argument.name] = valueFromASTUntyped(argument.astNode.defaultValue)
  }
  for (const argument of node.arguments ?? []) {
    const value: unknown = valueFromASTUntyped(argument.value, variableValues)
    if (value !== undefined) values[argument.name.value] = value
  }
  return values
}

/** Every field the operation selects (in its fragments too) that a requirement guards. */
function guardedFields(
  schema: GraphQLSchema,
  document: DocumentNode,
  operation: OperationDefinitionNode,
  authorizations: ReadonlyMap<string, FieldAuthorization>,
): GuardedField[] {
  const guarded = new Map<string, FieldAuthorization>()
  const typeInfo = new TypeInfo(schema)
  const visitor = visitWithTypeInfo(typeInfo, {
    Field() {
      const parent = typeInfo.getParentType()
      const field = typeInfo.getFieldDef()
      if (!parent || !field) return
      const coordinate = `${parent.name}.${field.name}`
      const requirement = authorizations.get(coordinate)
      if (requirement) guarded.set(coordinate, requirement)
    },
  })
  for (const definition of document.definitions) {
    if (definition === operation || definition.kind === Kind.FRAGMENT_DEFINITION) visit(definition, visitor)
  }
  return [...guarded].map(([coordinate, requirement]) => ({ coordinate, requirement }))
}

function parseQuery(query: string): DocumentNode {
  try {
    return parse(query)
  } catch (error) {
    if (error instanceof GraphQLError) throw new RequestError(400, 'GRAPHQL_PARSE_FAILED', error.message)
    throw error
  }
}

function validateQuery(schema: GraphQLSchema, document: DocumentNode): readonly GraphQLError[] {
  try {
    return validate(schema, document)
  } catch (error) {
    // graphql-js 16's SingleFieldSubscriptionsRule throws, instead of reporting, on a root
    // `@include(if: $var)` / `@skip(if: $var)` (it evaluates them without variable values).
    if (error instanceof GraphQLError) return [error]
    throw error
  }
}

/** The rules of graphql-js's execute: by name, or the only operation of the document. */
function selectOperation(document: DocumentNode, operationName: string | undefined): OperationDefinitionNode {
  const operations = document.definitions.filter((definition): definition is OperationDefinitionNode => definition.kind === Kind.OPERATION_DEFINITION)
  if (operationName !== undefined) {
    const named = operations.find((operation) => operation.name?.value === operationName)
    if (!named) throw new RequestError(400, 'UNKNOWN_OPERATION', `Unknown operation named "${operationName}".`)
    return named
  }
  const [only, ...others] = operations
  if (!only) throw badRequest('Must provide an operation.')
  if (others.length > 0) throw badRequest('Must provide operation name if query contains multiple operations.')
  return only
}

function badRequest(message: string): RequestError {
  return new RequestError(400, 'BAD_REQUEST', message)
}
