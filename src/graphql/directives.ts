/**
 * The directives on what a subscription reaches — its root fields, their arguments, and every
 * type their values can hold, with those types' fields — sorted into three kinds: applied here
 * (EDFS subscribe, `@openfed__subscriptionFilter`, `@authenticated`, `@requiresScopes`), known to
 * change neither what is delivered nor to whom (listed below with the reason), and the rest,
 * which refuse the start: a directive that could change delivery or access is never ignored.
 *
 * Subgraph SDLs are read before their directive usages are stripped for graphql-js; a composed
 * execution config carries its filters and authorization in `fieldConfigurations` and only
 * `@inaccessible` in its router schema, which is checked the same way.
 */
import {
  getNamedType,
  isEnumType,
  isInterfaceType,
  isObjectType,
  isUnionType,
  Kind,
  parse,
  valueFromASTUntyped,
  type ConstDirectiveNode,
  type DirectiveNode,
  type DocumentNode,
  type GraphQLNamedType,
  type GraphQLSchema,
} from 'graphql'
import { FilterDefinitionError, readSdlFilter, type FilterCondition } from './subscription-filter'

/** What a field needs of the caller: Cosmo's `authorizationConfiguration`. */
export interface FieldAuthorization {
  requiresAuthentication: boolean
  /** Any one of these sets of scopes, each needed in full; empty: a valid token is enough. */
  requiredOrScopes: string[][]
}

export interface SubscriptionDirectives {
  /** Subscription field -> its filter. */
  filters: Map<string, FilterCondition>
  /** `Type.field` -> what it needs of the caller. */
  authorizations: Map<string, FieldAuthorization>
}

export class DirectiveError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'DirectiveError'
  }
}

const SUBSCRIBE = new Set(['edfs__natsSubscribe', 'edfs__kafkaSubscribe', 'edfs__redisSubscribe'])
const FILTER = 'openfed__subscriptionFilter'
const AUTHENTICATED = 'authenticated'
const REQUIRES_SCOPES = 'requiresScopes'

/**
 * Directives that change neither which events a subscription delivers nor who may read them,
 * with why. Anything not applied and not listed here refuses the start.
 */
export const HARMLESS_DIRECTIVES: Readonly<Record<string, string>> = {
  // Federation: which subgraph resolves what. An SDL's subscriptions deliver the event payload
  // itself; an execution config's ownership is read from its datasource configurations.
  key: 'entity keys (federation)',
  external: 'a field resolved by another subgraph (federation)',
  requires: 'fields another subgraph needs (federation)',
  provides: 'fields a subgraph can also resolve (federation)',
  shareable: 'a field several subgraphs resolve (federation)',
  extends: 'a federation v1 type extension',
  override: 'a field moved between subgraphs (federation)',
  interfaceObject: 'an entity interface seen as an object (federation)',
  link: 'imports of federation specs',
  composeDirective: 'directives kept in the composed schema',
  tag: 'metadata for contracts and tooling',
  // Documentation and validation that graphql-js applies itself.
  deprecated: 'documentation (graphql-js reports it in introspection)',
  specifiedBy: 'documentation of a custom scalar',
  oneOf: 'input validation graphql-js applies',
  openfed__configureDescription: 'documentation in the composed schema',
  openfed__configureChildDescriptions: 'documentation in the composed schema',
  // Subgraph requests only: the router sends a fetch reason header; delivery is unchanged.
  openfed__requireFetchReasons: 'a header on subgraph requests',
  // Publishing and request fields are not served here; these never sit on a subscription field.
  edfs__natsPublish: 'a mutation that publishes (not served here)',
  edfs__natsRequest: 'a NATS request query (not served here)',
  edfs__kafkaPublish: 'a mutation that publishes (not served here)',
  edfs__redisPublish: 'a mutation that publishes (not served here)',
}

/**
 * In a composed router schema: `@inaccessible` parts are absent from the client schema served, and
 * composition wrote what `@authenticated`/`@requiresScopes` ask into `fieldConfigurations`.
 */
const APPLIED_BY_COMPOSITION = new Set(['inaccessible', AUTHENTICATED, REQUIRES_SCOPES])

/** Where a directive sits, e.g. `Subscription.employeeUpdated(employeeID:)` or `type Employee`. */
interface Site {
  kind: 'type' | 'field' | 'argument' | 'enum value'
  label: string
  typeName: string
  fieldName?: string
  directives: readonly DirectiveNode[]
}

/**
 * Reads a subgraph SDL's filters and authorization directives and refuses any other directive
 * that is neither applied nor harmless. `raw` is the SDL as written; `schema` was built from it.
 */
export function readSdlDirectives(raw: DocumentNode, schema: GraphQLSchema): SubscriptionDirectives {
  const directivesAt = indexDirectives(raw)
  const canonical = importedNames(raw)
  const filters = new Map<string, FilterCondition>()
  const typeRequirements = new Map<string, FieldAuthorization>()
  const fieldRequirements = new Map<string, FieldAuthorization>()
  const subscriptionName = schema.getSubscriptionType()?.name

  for (const site of reachableSites(schema, directivesAt)) {
    for (const directive of site.directives) {
      const written = directive.name.value
      const name = canonical.get(written) ?? written
      const where = `@${written} on ${site.label}${lineOf(directive)}`
      if (SUBSCRIBE.has(name) || name in HARMLESS_DIRECTIVES) continue
      if (name === FILTER) {
        if (site.typeName !== subscriptionName || site.kind !== 'field' || site.fieldName === undefined) {
          throw new DirectiveError(`${where}: a subscription filter belongs on a Subscription field`)
        }
        filters.set(site.fieldName, readFilterDirective(directive, where))
        continue
      }
      if (name === AUTHENTICATED || name === REQUIRES_SCOPES) {
        if (site.kind === 'argument' || site.kind === 'enum value') throw new DirectiveError(`${where}: edge-stream applies it to fields and types only`)
        const requirement = readRequirement(directive, where)
        const key = site.kind === 'type' ? site.typeName : `${site.typeName}.${site.fieldName}`
        const map = site.kind === 'type' ? typeRequirements : fieldRequirements
        map.set(key, both(map.get(key), requirement))
        continue
      }
      throw new DirectiveError(refusal(where))
    }
  }
  return { filters, authorizations: authorizationsOf(schema, fieldRequirements, typeRequirements) }
}

/**
 * Refuses directives in a composed router schema (`engineConfig.graphqlSchema`) on what the
 * subscriptions reach, other than the harmless ones and `@inaccessible` (applied by serving the
 * client schema). Composition moves filters and authorization into `fieldConfigurations`.
 */
export function checkRouterSchemaDirectives(routerSdl: string, clientSchema: GraphQLSchema): void {
  const directivesAt = indexDirectives(parse(routerSdl))
  for (const site of reachableSites(clientSchema, directivesAt)) {
    for (const directive of site.directives) {
      const name = directive.name.value
      if (name in HARMLESS_DIRECTIVES || APPLIED_BY_COMPOSITION.has(name)) continue
      const line = directive.loc ? `, line ${directive.loc.startToken.line}` : ''
      throw new DirectiveError(`@${name} on ${site.label} (engineConfig.graphqlSchema${line}), which edge-stream does not apply and which could change what is delivered or to whom`)
    }
  }
}

/** The type names a subscription's values can reach, Subscription included. */
export function reachableTypeNames(schema: GraphQLSchema): Set<string> {
  const names = new Set<string>()
  for (const site of reachableSites(schema, new Map())) names.add(site.typeName)
  return names
}

function refusal(where: string): string {
  return `${where} is not applied by edge-stream and could change what is delivered or to whom: remove it, or ask for it to be supported (harmless ones: @${Object.keys(HARMLESS_DIRECTIVES).slice(0, 6).join(', @')}, …; see docs/federation.md)`
}

function readFilterDirective(directive: DirectiveNode, where: string): FilterCondition {
  const condition = directive.arguments?.find((argument) => argument.name.value === 'condition')
  if (!condition) throw new DirectiveError(`${where} has no condition argument`)
  try {
    return readSdlFilter(valueFromASTUntyped(condition.value), 'condition')
  } catch (error) {
    if (error instanceof FilterDefinitionError) throw new DirectiveError(`${where}: ${error.message}`)
    throw error
  }
}

function readRequirement(directive: DirectiveNode, where: string): FieldAuthorization {
  if (directive.name.value === AUTHENTICATED) return { requiresAuthentication: true, requiredOrScopes: [] }
  const argument = directive.arguments?.find((candidate) => candidate.name.value === 'scopes')
  const scopes: unknown = argument ? valueFromASTUntyped(argument.value) : undefined
  if (!Array.isArray(scopes) || scopes.length === 0 || !scopes.every((group) => Array.isArray(group) && group.length > 0 && group.every((scope) => typeof scope === 'string' && scope !== ''))) {
    throw new DirectiveError(`${where}: scopes must be a non-empty list of non-empty lists of scopes, e.g. [["read:employee"]]`)
  }
  return { requiresAuthentication: true, requiredOrScopes: scopes as string[][] }
}

/** Both requirements at once: each OR-group of one with each of the other (as Cosmo composition merges them). */
export function both(a: FieldAuthorization | undefined, b: FieldAuthorization | undefined): FieldAuthorization {
  if (!a) return b ?? { requiresAuthentication: false, requiredOrScopes: [] }
  if (!b) return a
  const requiredOrScopes =
    a.requiredOrScopes.length === 0
      ? b.requiredOrScopes
      : b.requiredOrScopes.length === 0
        ? a.requiredOrScopes
        : a.requiredOrScopes.flatMap((left) => b.requiredOrScopes.map((right) => [...new Set([...left, ...right])]))
  return { requiresAuthentication: a.requiresAuthentication || b.requiresAuthentication, requiredOrScopes }
}

/**
 * Field requirements with the type-level ones folded in: a directive on an object or interface
 * applies to each of its fields, and on any type to each field that returns it.
 */
function authorizationsOf(schema: GraphQLSchema, fields: Map<string, FieldAuthorization>, types: Map<string, FieldAuthorization>): Map<string, FieldAuthorization> {
  const result = new Map(fields)
  if (types.size === 0) return result
  for (const type of Object.values(schema.getTypeMap())) {
    if (!isObjectType(type) && !isInterfaceType(type)) continue
    for (const field of Object.values(type.getFields())) {
      const coordinate = `${type.name}.${field.name}`
      const inherited = both(types.get(type.name), types.get(getNamedType(field.type).name))
      if (inherited.requiresAuthentication) result.set(coordinate, both(result.get(coordinate), inherited))
    }
  }
  return result
}

/** `@link(import: [{ name: "@shareable", as: "@share" }])`: the names a subgraph renamed, by their new name. */
function importedNames(document: DocumentNode): Map<string, string> {
  const names = new Map<string, string>()
  for (const definition of document.definitions) {
    if (definition.kind !== Kind.SCHEMA_DEFINITION && definition.kind !== Kind.SCHEMA_EXTENSION) continue
    for (const directive of definition.directives ?? []) {
      if (directive.name.value !== 'link') continue
      const imports = directive.arguments?.find((argument) => argument.name.value === 'import')
      const list: unknown = imports ? valueFromASTUntyped(imports.value) : []
      for (const entry of Array.isArray(list) ? list : []) {
        const { name, as } = (entry ?? {}) as { name?: unknown; as?: unknown }
        if (typeof name === 'string' && typeof as === 'string') names.set(as.replace(/^@/, ''), name.replace(/^@/, ''))
      }
    }
  }
  return names
}

type DirectiveIndex = Map<string, DirectiveNode[]>

/** Directive usages by `Type`, `Type.field`, `Type.field(argument:)` and `Type.VALUE`, extensions included. */
function indexDirectives(document: DocumentNode): DirectiveIndex {
  const index: DirectiveIndex = new Map()
  const add = (key: string, directives: readonly ConstDirectiveNode[] | undefined) => {
    if (!directives?.length) return
    index.set(key, [...(index.get(key) ?? []), ...directives])
  }
  for (const definition of document.definitions) {
    switch (definition.kind) {
      case Kind.OBJECT_TYPE_DEFINITION:
      case Kind.OBJECT_TYPE_EXTENSION:
      case Kind.INTERFACE_TYPE_DEFINITION:
      case Kind.INTERFACE_TYPE_EXTENSION:
        add(definition.name.value, definition.directives)
        for (const field of definition.fields ?? []) {
          add(`${definition.name.value}.${field.name.value}`, field.directives)
          for (const argument of field.arguments ?? []) add(`${definition.name.value}.${field.name.value}(${argument.name.value}:)`, argument.directives)
        }
        break
      case Kind.UNION_TYPE_DEFINITION:
      case Kind.UNION_TYPE_EXTENSION:
      case Kind.SCALAR_TYPE_DEFINITION:
      case Kind.SCALAR_TYPE_EXTENSION:
        add(definition.name.value, definition.directives)
        break
      case Kind.ENUM_TYPE_DEFINITION:
      case Kind.ENUM_TYPE_EXTENSION:
        add(definition.name.value, definition.directives)
        for (const value of definition.values ?? []) add(`${definition.name.value}.${value.name.value}`, value.directives)
        break
      default:
        break
    }
  }
  return index
}

/** Every place a subscription reaches, in a stable order, with the directives written there. */
function reachableSites(schema: GraphQLSchema, directivesAt: DirectiveIndex): Site[] {
  const subscriptionType = schema.getSubscriptionType()
  if (!subscriptionType) return []
  const sites: Site[] = []
  const seen = new Set<string>()
  const queue: GraphQLNamedType[] = [subscriptionType]
  const site = (kind: Site['kind'], key: string, label: string, typeName: string, fieldName?: string) =>
    sites.push({ kind, label, typeName, ...(fieldName === undefined ? {} : { fieldName }), directives: directivesAt.get(key) ?? [] })
  while (queue.length > 0) {
    const type = queue.shift()!
    if (seen.has(type.name) || type.name.startsWith('__')) continue
    seen.add(type.name)
    site('type', type.name, `type ${type.name}`, type.name)
    if (isObjectType(type) || isInterfaceType(type)) {
      for (const field of Object.values(type.getFields())) {
        const coordinate = `${type.name}.${field.name}`
        site('field', coordinate, coordinate, type.name, field.name)
        for (const argument of field.args) site('argument', `${coordinate}(${argument.name}:)`, `${coordinate}(${argument.name}:)`, type.name, field.name)
        queue.push(getNamedType(field.type))
      }
      if (isInterfaceType(type)) queue.push(...schema.getPossibleTypes(type))
    } else if (isUnionType(type)) {
      queue.push(...type.getTypes())
    } else if (isEnumType(type)) {
      for (const value of type.getValues()) site('enum value', `${type.name}.${value.name}`, `${type.name}.${value.name}`, type.name)
    }
  }
  return sites
}

function lineOf(node: DirectiveNode): string {
  return node.loc ? ` (line ${node.loc.startToken.line})` : ''
}
