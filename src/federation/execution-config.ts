/**
 * Reads the Cosmo router execution config, as `wgc router compose` writes it (and the Cosmo
 * router reads from `EXECUTION_CONFIG_FILE_PATH`), into what edge-stream serves: the client
 * schema, the route of every event-driven subscription field, and for entity resolution which
 * subgraph owns which field, with its keys and @requires. Pure: JSON text in, model out; every
 * problem is one ExecutionConfigError sentence that the caller prefixes with the file's name.
 */
import { buildASTSchema, parse, validateSchema, type GraphQLSchema } from 'graphql'
import { checkRouterSchemaDirectives, DirectiveError, reachableTypeNames, type FieldAuthorization } from '../graphql/directives'
import { checkFilterArguments, SchemaError, type EdfsSchema, type ProviderKind, type SubscriptionRoute } from '../graphql/schema'
import { FilterDefinitionError, readConfigFilter } from '../graphql/subscription-filter'
import { parseTemplate, type Template } from '../graphql/templates'

export class ExecutionConfigError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'ExecutionConfigError'
  }
}

/** One subgraph that answers `_entities`: its name (as in `SUBGRAPH_<NAME>_URL`) and URL. */
export interface Subgraph {
  name: string
  url: string | undefined
}

/** A key of an entity type in one subgraph: `fields` is its selection, e.g. "id" or "key { name }". */
export interface EntityKey {
  typeName: string
  fields: string
  /** `@key(resolvable: false)`: the subgraph cannot answer `_entities` with it. */
  resolvable: boolean
}

/** One subgraph's part of the graph: the fields it resolves itself, its keys and @requires. */
export interface Datasource {
  id: string
  subgraph: Subgraph
  /** The event-driven (EDFS) subgraph: its data comes from broker events, not from HTTP. */
  eventDriven: boolean
  /** typeName -> fields it resolves (external ones excluded). */
  owned: ReadonlyMap<string, ReadonlySet<string>>
  /** typeName -> fields it declares @external (the event payload carries an EDFS subgraph's keys). */
  external: ReadonlyMap<string, ReadonlySet<string>>
  keys: readonly EntityKey[]
  /** `Type.field` -> the selection its @requires needs, e.g. "currentMood". */
  requires: ReadonlyMap<string, string>
}

export interface FederatedGraph extends EdfsSchema {
  datasources: readonly Datasource[]
  subgraphs: ReadonlyMap<string, Subgraph>
}

/** The keys of a `fieldConfigurations` entry that edge-stream reads; any other one on a reachable field refuses the config. */
const FIELD_CONFIGURATION_KEYS = new Set(['typeName', 'fieldName', 'argumentsConfiguration', 'subscriptionFilterCondition', 'authorizationConfiguration'])

/** The router compatibility version this reads (the Cosmo router's own threshold is 1 too). */
const COMPATIBILITY_VERSION = 1

const EVENT_KINDS: Readonly<Record<string, { kind: ProviderKind; names: string }>> = {
  nats: { kind: 'nats', names: 'subjects' },
  kafka: { kind: 'kafka', names: 'topics' },
  redis: { kind: 'redis', names: 'channels' },
}

type Json = Record<string, unknown>

/**
 * `urlOverrides` maps a subgraph name to the URL that replaces its routing URL
 * (`SUBGRAPH_<NAME>_URL`, read by the caller).
 */
export function loadExecutionConfig(text: string, urlOverrides: (subgraphName: string) => string | undefined = () => undefined): FederatedGraph {
  let config: unknown
  try {
    config = JSON.parse(text)
  } catch (error) {
    throw new ExecutionConfigError(`is not JSON (${(error as Error).message})`)
  }
  if (!isObject(config) || !isObject(config.engineConfig)) {
    throw new ExecutionConfigError('is not a Cosmo router execution config: it has no "engineConfig" (write it with `wgc router compose -i graph.yaml -o config.json`)')
  }
  checkCompatibility(config.compatibilityVersion)
  const engine = config.engineConfig
  const schema = buildClientSchema(engine)
  const subgraphs = readSubgraphs(config.subgraphs, urlOverrides)
  const datasources = array(engine.datasourceConfigurations, 'engineConfig.datasourceConfigurations').map((raw, index) =>
    readDatasource(raw, index, subgraphs),
  )
  const routes = readRoutes(engine.datasourceConfigurations as Json[], schema)
  if (!schema.getSubscriptionType() || routes.size === 0) {
    throw new ExecutionConfigError('has no event-driven subscription field (no customEvents with type SUBSCRIBE): there is nothing to serve')
  }
  const authorizations = readFieldConfigurations(engine.fieldConfigurations, schema, routes)
  if (typeof engine.graphqlSchema === 'string') {
    try {
      checkRouterSchemaDirectives(engine.graphqlSchema, schema)
    } catch (error) {
      if (error instanceof DirectiveError) throw new ExecutionConfigError(`has ${error.message}`)
      throw error
    }
  }
  return { schema, routes, datasources, subgraphs: new Map([...subgraphs.values()].map((s) => [s.name, s])), authorizations }
}

function checkCompatibility(raw: unknown): void {
  // The Cosmo router accepts an absent version too: configs older than the field.
  if (raw === undefined || raw === '') return
  const major = typeof raw === 'string' ? Number(raw.split(':')[0]) : NaN
  if (!Number.isInteger(major)) throw new ExecutionConfigError(`has an unreadable compatibilityVersion ${JSON.stringify(raw)}`)
  if (major > COMPATIBILITY_VERSION) {
    throw new ExecutionConfigError(
      `has compatibilityVersion "${raw}", newer than the version ${COMPATIBILITY_VERSION} edge-stream reads: compose it with a wgc of router compatibility version ${COMPATIBILITY_VERSION}`,
    )
  }
}

/** The schema clients query: `graphqlClientSchema` (without @inaccessible parts) when present. */
function buildClientSchema(engine: Json): GraphQLSchema {
  const key = typeof engine.graphqlClientSchema === 'string' ? 'graphqlClientSchema' : 'graphqlSchema'
  const sdl = engine[key]
  if (typeof sdl !== 'string' || sdl.trim() === '') throw new ExecutionConfigError(`has no engineConfig.graphqlSchema`)
  let schema: GraphQLSchema
  try {
    schema = buildASTSchema(parse(sdl))
  } catch (error) {
    throw new ExecutionConfigError(`engineConfig.${key} is not a valid schema: ${(error as Error).message}`)
  }
  const [problem] = validateSchema(schema)
  if (problem) throw new ExecutionConfigError(`engineConfig.${key} is not a valid schema: ${problem.message}`)
  return schema
}

function readSubgraphs(raw: unknown, urlOverrides: (name: string) => string | undefined): Map<string, Subgraph> {
  const byId = new Map<string, Subgraph>()
  for (const [index, entry] of array(raw ?? [], 'subgraphs').entries()) {
    if (!isObject(entry) || typeof entry.id !== 'string' || typeof entry.name !== 'string') {
      throw new ExecutionConfigError(`subgraphs[${index}] has no id or name`)
    }
    const url = urlOverrides(entry.name) ?? (typeof entry.routingUrl === 'string' && entry.routingUrl !== '' ? entry.routingUrl : undefined)
    byId.set(entry.id, { name: entry.name, url })
  }
  return byId
}

function readDatasource(raw: unknown, index: number, subgraphs: ReadonlyMap<string, Subgraph>): Datasource {
  const where = `engineConfig.datasourceConfigurations[${index}]`
  if (!isObject(raw) || typeof raw.id !== 'string') throw new ExecutionConfigError(`${where} has no id`)
  const owned = new Map<string, Set<string>>()
  const external = new Map<string, Set<string>>()
  for (const node of [...array(raw.rootNodes ?? [], `${where}.rootNodes`), ...array(raw.childNodes ?? [], `${where}.childNodes`)]) {
    if (!isObject(node) || typeof node.typeName !== 'string') throw new ExecutionConfigError(`${where} has a node without typeName`)
    const externals = new Set(strings(node.externalFieldNames ?? [], `${where} ${node.typeName}.externalFieldNames`))
    addAll(external, node.typeName, externals)
    addAll(owned, node.typeName, strings(node.fieldNames ?? [], `${where} ${node.typeName}.fieldNames`).filter((field) => !externals.has(field)))
  }
  const keys = array(raw.keys ?? [], `${where}.keys`).map((key): EntityKey => {
    if (!isObject(key) || typeof key.typeName !== 'string' || typeof key.selectionSet !== 'string') {
      throw new ExecutionConfigError(`${where} has a key without typeName or selectionSet`)
    }
    return { typeName: key.typeName, fields: key.selectionSet, resolvable: key.disableEntityResolver !== true }
  })
  const requires = new Map<string, string>()
  for (const entry of array(raw.requires ?? [], `${where}.requires`)) {
    if (!isObject(entry) || typeof entry.typeName !== 'string' || typeof entry.fieldName !== 'string' || typeof entry.selectionSet !== 'string') {
      throw new ExecutionConfigError(`${where} has a @requires without typeName, fieldName or selectionSet`)
    }
    requires.set(`${entry.typeName}.${entry.fieldName}`, entry.selectionSet)
  }
  if (array(raw.entityInterfaces ?? [], `${where}.entityInterfaces`).length > 0 || array(raw.interfaceObjects ?? [], `${where}.interfaceObjects`).length > 0) {
    throw new ExecutionConfigError(`${where} (subgraph ${subgraphs.get(raw.id)?.name ?? raw.id}) uses @interfaceObject entity interfaces, which edge-stream does not resolve`)
  }
  const subgraph = subgraphs.get(raw.id) ?? { name: raw.id, url: undefined }
  return { id: raw.id, subgraph, eventDriven: raw.kind === 'PUBSUB', owned, external, keys, requires }
}

function readRoutes(datasources: Json[], schema: GraphQLSchema): Map<string, SubscriptionRoute> {
  const routes = new Map<string, SubscriptionRoute>()
  const subscriptionType = schema.getSubscriptionType()
  for (const [index, datasource] of datasources.entries()) {
    const events = datasource.customEvents
    if (events === undefined) continue
    if (!isObject(events)) throw new ExecutionConfigError(`engineConfig.datasourceConfigurations[${index}].customEvents is not an object`)
    for (const [provider, configurations] of Object.entries(events)) {
      const eventKind = EVENT_KINDS[provider]
      if (!eventKind) {
        throw new ExecutionConfigError(`names the unknown event provider "${provider}" (in engineConfig.datasourceConfigurations[${index}].customEvents); edge-stream reads nats, kafka and redis`)
      }
      for (const configuration of array(configurations, `customEvents.${provider}`)) {
        const route = readRoute(configuration, eventKind, provider)
        if (!route) continue
        const [fieldName, value] = route
        const field = subscriptionType?.getFields()[fieldName]
        if (!field) throw new ExecutionConfigError(`customEvents.${provider} names Subscription.${fieldName}, which the schema does not have`)
        checkArguments(fieldName, value, field.args.map((argument) => argument.name))
        routes.set(fieldName, value)
      }
    }
  }
  return routes
}

/** The route of a SUBSCRIBE event configuration; undefined for publish and request ones (not served here). */
function readRoute(raw: unknown, eventKind: { kind: ProviderKind; names: string }, provider: string): [string, SubscriptionRoute] | undefined {
  if (!isObject(raw) || !isObject(raw.engineEventConfiguration)) throw new ExecutionConfigError(`customEvents.${provider} has an entry without engineEventConfiguration`)
  const { providerId, type, typeName, fieldName } = raw.engineEventConfiguration
  if (type !== 'SUBSCRIBE' || typeName !== 'Subscription') return undefined
  if (typeof fieldName !== 'string' || typeof providerId !== 'string' || providerId === '') {
    throw new ExecutionConfigError(`customEvents.${provider} has a subscription without fieldName or providerId`)
  }
  const texts = strings(raw[eventKind.names], `customEvents.${provider} Subscription.${fieldName}.${eventKind.names}`)
  if (texts.length === 0) throw new ExecutionConfigError(`Subscription.${fieldName} has no ${eventKind.names}`)
  const route: SubscriptionRoute = { kind: eventKind.kind, providerId, templates: texts.map((text) => readTemplate(fieldName, text)) }
  const stream = raw.streamConfiguration
  if (isObject(stream) && typeof stream.streamName === 'string' && stream.streamName !== '') route.streamName = stream.streamName
  return [fieldName, route]
}

function readTemplate(fieldName: string, text: string): Template {
  try {
    return { text, parts: parseTemplate(text) }
  } catch (error) {
    throw new ExecutionConfigError(`Subscription.${fieldName}: template "${text}": ${(error as Error).message}`)
  }
}

/** Composition checks the templates' arguments; a hand-edited config may not have been composed. */
function checkArguments(fieldName: string, route: SubscriptionRoute, argumentNames: string[]): void {
  for (const template of route.templates) {
    for (const part of template.parts) {
      if (typeof part === 'string' || part.source === 'claims' || argumentNames.includes(part.path[0]!)) continue
      throw new ExecutionConfigError(`Subscription.${fieldName}: template "${template.text}": {{ ${part.text} }} refers to no argument of ${fieldName}`)
    }
  }
}

/**
 * Filters onto their routes, and what each field asks of the caller. Composition writes what
 * directives mean for the router here; a key edge-stream does not read, on a field a
 * subscription reaches, refuses the config rather than being ignored.
 */
function readFieldConfigurations(raw: unknown, schema: GraphQLSchema, routes: Map<string, SubscriptionRoute>): Map<string, FieldAuthorization> {
  const authorizations = new Map<string, FieldAuthorization>()
  const reachable = reachableTypeNames(schema)
  const subscriptionType = schema.getSubscriptionType()
  for (const entry of array(raw ?? [], 'engineConfig.fieldConfigurations')) {
    if (!isObject(entry) || typeof entry.typeName !== 'string' || typeof entry.fieldName !== 'string') continue
    const coordinate = `${entry.typeName}.${entry.fieldName}`
    const unread = Object.keys(entry).find((key) => !FIELD_CONFIGURATION_KEYS.has(key) && entry[key] !== undefined && entry[key] !== null)
    if (unread !== undefined && reachable.has(entry.typeName)) {
      throw new ExecutionConfigError(`has "${unread}" on ${coordinate} (engineConfig.fieldConfigurations), which edge-stream does not apply and could change what is delivered or to whom`)
    }
    if (entry.subscriptionFilterCondition !== undefined && entry.subscriptionFilterCondition !== null) {
      const route = entry.typeName === subscriptionType?.name ? routes.get(entry.fieldName) : undefined
      const field = subscriptionType?.getFields()[entry.fieldName]
      if (!route || !field) throw new ExecutionConfigError(`${coordinate} has a subscription filter but no event source`)
      try {
        route.filter = readConfigFilter(entry.subscriptionFilterCondition, `${coordinate} subscriptionFilterCondition`)
        checkFilterArguments(coordinate, field, route.filter)
      } catch (error) {
        if (error instanceof FilterDefinitionError || error instanceof SchemaError) throw new ExecutionConfigError(error.message)
        throw error
      }
    }
    const auth = entry.authorizationConfiguration
    if (!isObject(auth)) continue
    const requiredOrScopes = array(auth.requiredOrScopes ?? [], `${coordinate} requiredOrScopes`).map((scopes) =>
      isObject(scopes) ? strings(scopes.requiredAndScopes ?? [], `${coordinate} requiredAndScopes`) : [],
    )
    if (auth.requiresAuthentication === true || requiredOrScopes.length > 0) {
      authorizations.set(coordinate, { requiresAuthentication: true, requiredOrScopes })
    }
  }
  return authorizations
}

function addAll(map: Map<string, Set<string>>, key: string, values: Iterable<string>): void {
  let set = map.get(key)
  if (!set) map.set(key, (set = new Set()))
  for (const value of values) set.add(value)
}

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function array(value: unknown, where: string): unknown[] {
  if (!Array.isArray(value)) throw new ExecutionConfigError(`${where} is not a list`)
  return value
}

function strings(value: unknown, where: string): string[] {
  const list = array(value, where)
  if (list.some((item) => typeof item !== 'string')) throw new ExecutionConfigError(`${where} holds a value that is not a string`)
  return list as string[]
}
