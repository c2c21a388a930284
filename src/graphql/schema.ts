import {
  GraphQLError,
  buildASTSchema,
  getDirectiveValues,
  getNullableType,
  isInputObjectType,
  isLeafType,
  isNonNullType,
  parse,
  validateSchema,
  type ASTNode,
  type DocumentNode,
  type GraphQLField,
  type GraphQLInputType,
  type GraphQLSchema,
} from 'graphql'
import { DirectiveError, readSdlDirectives, type FieldAuthorization } from './directives'
import { prepareSdl } from './sdl'
import { argumentPathsOf, type FilterCondition } from './subscription-filter'
import { parseTemplate, type Template } from './templates'

export type ProviderKind = 'nats' | 'kafka' | 'redis'

export interface SubscriptionRoute {
  kind: ProviderKind
  providerId: string
  /** Subjects / topics / channels, e.g. "employeeUpdated.{{ args.id }}", parsed once at load. */
  templates: Template[]
  /**
   * NATS `streamConfiguration.streamName`. Its `consumerName` is not used: Cosmo's router names a
   * durable consumer to share among its instances, whereas each stream here reads an ephemeral
   * consumer of its own from the client's cursor, which needs no name and leaves nothing behind.
   */
  streamName?: string
  /** `@openfed__subscriptionFilter`: which events reach the client. */
  filter?: FilterCondition
}

export interface EdfsSchema {
  schema: GraphQLSchema
  /** Subscription field name -> route. */
  routes: ReadonlyMap<string, SubscriptionRoute>
  /** `Type.field` -> what `@authenticated`/`@requiresScopes` ask of the caller who selects it. */
  authorizations: ReadonlyMap<string, FieldAuthorization>
}

export class SchemaError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'SchemaError'
  }
}

const SUBSCRIBE_DIRECTIVES: Readonly<Record<string, { kind: ProviderKind; templatesArgument: string }>> = {
  edfs__natsSubscribe: { kind: 'nats', templatesArgument: 'subjects' },
  edfs__kafkaSubscribe: { kind: 'kafka', templatesArgument: 'topics' },
  edfs__redisSubscribe: { kind: 'redis', templatesArgument: 'channels' },
}

/** Builds the schema from a Cosmo EDFS subgraph SDL as users have it, and the route of every Subscription field. */
export function loadEdfsSchema(sdl: string): EdfsSchema {
  const document = parseSdl(sdl)
  const schema = buildSchema(document)
  const subscriptionType = schema.getSubscriptionType()
  if (!subscriptionType) throw new SchemaError('The schema has no Subscription type: there is nothing to serve')
  let directives
  try {
    directives = readSdlDirectives(document, schema)
  } catch (error) {
    if (error instanceof DirectiveError) throw new SchemaError(error.message)
    throw error
  }
  const routes = new Map<string, SubscriptionRoute>()
  for (const field of Object.values(subscriptionType.getFields())) {
    const route = routeOf(schema, subscriptionType.name, field)
    const filter = directives.filters.get(field.name)
    if (filter) {
      checkFilterArguments(`${subscriptionType.name}.${field.name}${lineOf(field.astNode)}`, field, filter)
      route.filter = filter
    }
    routes.set(field.name, route)
  }
  return { schema, routes, authorizations: directives.authorizations }
}

/** A filter's `{{ args.… }}` must name an argument of its field (a list is fine: any item may match). */
export function checkFilterArguments(where: string, field: GraphQLField<unknown, unknown>, filter: FilterCondition): void {
  for (const path of argumentPathsOf(filter)) {
    const problem = argumentPathProblem(field, path, { leafOnly: false })
    if (problem) throw new SchemaError(`${where}: @openfed__subscriptionFilter: {{ args.${path.join('.')} }} ${problem}`)
  }
}

function parseSdl(sdl: string): DocumentNode {
  try {
    return parse(sdl)
  } catch (error) {
    throw new SchemaError(`SDL syntax error${locationOf(error)}: ${(error as Error).message}`)
  }
}

function buildSchema(document: DocumentNode): GraphQLSchema {
  let schema
  try {
    schema = buildASTSchema(prepareSdl(document))
  } catch (error) {
    // graphql-js joins its SDL validation errors without locations; they name the type or directive.
    throw new SchemaError(`Invalid SDL: ${(error as Error).message}`)
  }
  const [firstError] = validateSchema(schema)
  if (firstError) throw new SchemaError(`Invalid schema${locationOf(firstError)}: ${firstError.message}`)
  return schema
}

function routeOf(schema: GraphQLSchema, typeName: string, field: GraphQLField<unknown, unknown>): SubscriptionRoute {
  const where = `${typeName}.${field.name}${lineOf(field.astNode)}`
  const usages = (field.astNode?.directives ?? []).filter((directive) => directive.name.value in SUBSCRIBE_DIRECTIVES)
  const [usage, ...extraUsages] = usages
  if (!usage || !field.astNode) {
    throw new SchemaError(`${where} has no @edfs__natsSubscribe, @edfs__kafkaSubscribe or @edfs__redisSubscribe directive`)
  }
  if (extraUsages.length > 0) throw new SchemaError(`${where} has more than one EDFS subscribe directive`)

  const directiveName = usage.name.value
  const { kind, templatesArgument } = SUBSCRIBE_DIRECTIVES[directiveName]!
  let values: Record<string, unknown> | undefined
  try {
    values = getDirectiveValues(schema.getDirective(directiveName)!, field.astNode)
  } catch (error) {
    throw new SchemaError(`${where}: @${directiveName}: ${(error as Error).message}`)
  }
  const templates = values?.[templatesArgument]
  if (!Array.isArray(templates) || templates.length === 0) {
    throw new SchemaError(`${where}: @${directiveName} needs at least one entry in "${templatesArgument}"`)
  }
  const parsed = templates.map((template) => checkTemplate(where, field, template))

  const providerId = values?.providerId ?? 'default'
  if (typeof providerId !== 'string' || providerId === '') {
    throw new SchemaError(`${where}: @${directiveName} providerId must be a non-empty string`)
  }
  const route: SubscriptionRoute = { kind, providerId, templates: parsed }
  const streamConfiguration = values?.streamConfiguration as Record<string, unknown> | null | undefined
  if (typeof streamConfiguration?.streamName === 'string') route.streamName = streamConfiguration.streamName
  return route
}

function checkTemplate(where: string, field: GraphQLField<unknown, unknown>, template: unknown): Template {
  if (typeof template !== 'string' || template === '') throw new SchemaError(`${where}: a subject/topic/channel template is empty or null`)
  let parts
  try {
    parts = parseTemplate(template)
  } catch (error) {
    throw new SchemaError(`${where}: template "${template}": ${(error as Error).message}`)
  }
  for (const part of parts) {
    if (typeof part === 'string' || part.source === 'claims') continue // claims are only known per request
    const problem = argumentPathProblem(field, part.path, { leafOnly: true })
    if (problem) throw new SchemaError(`${where}: template "${template}": ${part.text} ${problem}`)
  }
  return { text: template, parts }
}

/** Why `args.<path>` cannot yield one scalar value of this field's arguments, or undefined when it can. */
function argumentPathProblem(field: GraphQLField<unknown, unknown>, path: readonly string[], { leafOnly }: { leafOnly: boolean }): string | undefined {
  const [argumentName, ...fieldNames] = path
  const argument = field.args.find((candidate) => candidate.name === argumentName)
  if (!argument) return `refers to no argument of ${field.name} (it has: ${field.args.map((a) => a.name).join(', ') || 'none'})`
  let type: GraphQLInputType = argument.type
  for (const fieldName of fieldNames) {
    const inputType = getNullableType(type)
    if (!isInputObjectType(inputType)) return `cannot select "${fieldName}" from type ${String(type)}`
    const inputField = inputType.getFields()[fieldName]
    if (!inputField) return `refers to no field "${fieldName}" of input ${inputType.name}`
    type = inputField.type
  }
  const leafType = isNonNullType(type) ? type.ofType : type
  return !leafOnly || isLeafType(leafType) ? undefined : `has type ${String(type)}, not a scalar or enum`
}

function lineOf(node: ASTNode | null | undefined): string {
  return node?.loc ? ` (line ${node.loc.startToken.line})` : ''
}

function locationOf(error: unknown): string {
  const location = error instanceof GraphQLError ? error.locations?.[0] : undefined
  return location ? ` at line ${location.line}, column ${location.column}` : ''
}
