/**
 * Resolves a subscription's selection on events of a federated graph as the Cosmo router does:
 * the event payload is the event-driven subgraph's part of the root field's value (`__typename`
 * and the key fields of its entity); every selected field that subgraph does not resolve comes
 * from a subgraph that owns it, through `_entities` with a key the object carries, hop after hop
 * for entities inside entities, and after the fields its @requires names.
 *
 * graphql-js `execute` walks the selection (fragments, @skip/@include, abstract types, null
 * propagation, error paths); its resolvers read a field where the object came from or ask the
 * batch's EntityBatch, which turns the asks of all events of a batch into one request per
 * subgraph. A failed subgraph request gives each affected event Cosmo's wrapped error,
 * `Failed to fetch from Subgraph '<name>' at Path '<path>'.`, and nulls where graphql-js puts them.
 */
import {
  GraphQLError,
  Kind,
  astFromValue,
  execute,
  getNamedType,
  isAbstractType,
  isLeafType,
  isObjectType,
  parse,
  print,
  typeFromAST,
  visit,
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLCompositeType,
  type GraphQLFieldResolver,
  type GraphQLInputType,
  type GraphQLNamedType,
  type GraphQLObjectType,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionNode,
  type SelectionSetNode,
  type ValueNode,
} from 'graphql'
import type { Datasource, EntityKey, FederatedGraph } from './execution-config'
import { createTransport, EntityBatch, SubgraphFetchError, type SubgraphTransport } from './subgraph-fetch'

type Json = Record<string, unknown>
type Variables = Record<string, unknown>

/** Where an object of the result came from, which decides how its fields are read. */
type Origin = { event: true } | { event: false; datasource: Datasource }

const FROM_EVENT: Origin = { event: true }

/** Top-level aliases of the fields edge-stream adds to subgraph selections. */
const KEY_ALIAS = '_k_'
const REQUIRED_ALIAS = '_r_'

export interface EnrichedSubscription {
  /** ExecutionResult JSON text per event payload text, in order, and the subgraph requests it took. */
  resolve(payloads: readonly string[], context: ResolveContext): Promise<{ results: string[]; requests: number }>
}

export interface ResolveContext {
  /** Headers forwarded to subgraphs (already filtered by the allow-list). */
  headers: Record<string, string>
  /** Aborts when the stream ends. */
  signal: AbortSignal
}

export interface EntityResolverOptions {
  transport: SubgraphTransport
  /** One batch's events are resolved within this long; what is still missing then fails. */
  eventDeadlineMs: number
}

/** The per-graph part: which datasource resolves what. */
export class EntityResolver {
  private readonly graphDatasources: readonly Datasource[]
  private readonly fetchable: readonly Datasource[]

  constructor(
    private readonly graph: FederatedGraph,
    private readonly options: EntityResolverOptions,
  ) {
    this.graphDatasources = graph.datasources
    this.fetchable = graph.datasources.filter((datasource) => !datasource.eventDriven)
  }

  /**
   * The resolution of one subscription request, or undefined when the event payload holds
   * everything it selects (the caller then projects the payload as for a plain EDFS schema).
   */
  prepare(document: DocumentNode, operation: OperationDefinitionNode, variables: Variables, fieldName: string, responseKey: string): EnrichedSubscription | undefined {
    const schema = this.graph.schema
    const eventSource = this.graphDatasources.find((datasource) => datasource.owned.get('Subscription')?.has(fieldName))
    if (!eventSource) throw new Error(`No event-driven subgraph serves Subscription.${fieldName}`)
    const fragments = fragmentsOf(document)
    const rootField = schema.getSubscriptionType()!.getFields()[fieldName]!
    const rootSelections = operation.selectionSet.selections
    if (!needsSubgraphs(schema, eventSource, fragments, getNamedType(rootField.type), selectionSetOfRoot(rootSelections, fragments, responseKey))) {
      return undefined
    }
    return new Enrichment(this, schema, document, operation, variables, fragments, eventSource, responseKey)
  }

  /** Whether `origin` has `type.field` for its objects. */
  provides(origin: Origin, eventSource: Datasource, typeName: string, fieldName: string): boolean {
    if (origin.event) return eventSource.owned.get(typeName)?.has(fieldName) === true || eventSource.external.get(typeName)?.has(fieldName) === true
    return origin.datasource.owned.get(typeName)?.has(fieldName) === true
  }

  private readonly ownersByField = new Map<string, { datasource: Datasource; keys: EntityKey[] }[]>()

  /** Subgraphs that resolve `type.field` through `_entities`, with the keys they accept. */
  owners(typeName: string, fieldName: string): { datasource: Datasource; keys: EntityKey[] }[] {
    const coordinate = `${typeName}.${fieldName}`
    let owners = this.ownersByField.get(coordinate)
    if (!owners) this.ownersByField.set(coordinate, (owners = this.findOwners(typeName, fieldName)))
    return owners
  }

  private findOwners(typeName: string, fieldName: string): { datasource: Datasource; keys: EntityKey[] }[] {
    const owners = []
    for (const datasource of this.fetchable) {
      if (!datasource.owned.get(typeName)?.has(fieldName)) continue
      const keys = datasource.keys.filter((key) => key.typeName === typeName && key.resolvable)
      if (keys.length > 0) owners.push({ datasource, keys })
    }
    return owners
  }

  /** Every resolvable key of `typeName` in any subgraph: objects of it carry these fields. */
  keysOf(typeName: string): EntityKey[] {
    return this.fetchable.flatMap((datasource) => datasource.keys.filter((key) => key.typeName === typeName && key.resolvable))
  }

  get transport(): SubgraphTransport {
    return this.options.transport
  }

  get eventDeadlineMs(): number {
    return this.options.eventDeadlineMs
  }
}

class Enrichment implements EnrichedSubscription {
  private readonly origins = new WeakMap<object, Origin>()
  private readonly printedFields = new WeakMap<FieldNode, Map<string, string>>()
  private readonly notJson: string
  private readonly rootFieldName: string

  constructor(
    private readonly resolver: EntityResolver,
    private readonly schema: GraphQLSchema,
    private readonly document: DocumentNode,
    private readonly operation: OperationDefinitionNode,
    private readonly variables: Variables,
    private readonly fragments: Readonly<Record<string, FragmentDefinitionNode>>,
    private readonly eventSource: Datasource,
    responseKey: string,
  ) {
    this.notJson = JSON.stringify({ data: null, errors: [{ message: 'The event payload is not valid JSON', path: [responseKey] }] })
    this.rootFieldName = findRootField(operation.selectionSet.selections, fragments, responseKey)!.name.value
  }

  async resolve(payloads: readonly string[], context: ResolveContext): Promise<{ results: string[]; requests: number }> {
    const deadline = new AbortController()
    const timer = setTimeout(() => deadline.abort(), this.resolver.eventDeadlineMs)
    const onStreamEnd = () => deadline.abort()
    context.signal.addEventListener('abort', onStreamEnd, { once: true })
    const batch = new EntityBatch(this.resolver.transport, context.headers, deadline.signal)
    try {
      // An event's result is a function of its payload text and of the batch's answers alone, so the events of a
      // batch that carry the same payload (EDFS events carry an entity's keys: a busy entity repeats) resolve once.
      const resolving = new Map<string, Promise<string>>()
      const results = await Promise.all(
        payloads.map((text) => {
          let result = resolving.get(text)
          if (result === undefined) resolving.set(text, (result = this.resolveOne(text, batch)))
          return result
        }),
      )
      return { results, requests: batch.requests }
    } finally {
      clearTimeout(timer)
      context.signal.removeEventListener('abort', onStreamEnd)
    }
  }

  private async resolveOne(text: string, batch: EntityBatch): Promise<string> {
    let payload: unknown
    try {
      payload = JSON.parse(text)
    } catch {
      return this.notJson
    }
    const result = await execute({
      schema: this.schema,
      document: this.document,
      operationName: this.operation.name?.value,
      variableValues: this.variables,
      rootValue: { [this.rootFieldName]: payload },
      contextValue: batch,
      fieldResolver: this.resolveField,
    })
    const errors: unknown[] = []
    const wrapped = new Set<string>()
    for (const error of result.errors ?? []) {
      if (error.originalError instanceof SubgraphFetchError) {
        if (!wrapped.has(error.message)) errors.push({ message: error.message })
        wrapped.add(error.message)
      } else errors.push(error.toJSON())
    }
    return JSON.stringify(errors.length > 0 ? { errors, data: result.data ?? null } : { data: result.data ?? null })
  }

  private readonly resolveField: GraphQLFieldResolver<unknown, EntityBatch> = (source, _args, batch, info) => {
    const parent = source as Json
    const origin = this.origins.get(parent)
    if (origin === undefined) return this.tag(parent[info.fieldName], FROM_EVENT) // the root field: the payload
    const typeName = info.parentType.name
    const key = origin.event ? info.fieldName : String(info.path.key)
    if (this.resolver.provides(origin, this.eventSource, typeName, info.fieldName) && (key in parent || this.resolver.owners(typeName, info.fieldName).length === 0)) {
      return this.tag(parent[key], origin)
    }
    return this.fetchField(parent, origin, info.parentType, info.fieldNodes, entityPath(info.path), batch)
  }

  private async fetchField(parent: Json, origin: Origin, type: GraphQLObjectType, fieldNodes: readonly FieldNode[], path: string, batch: EntityBatch): Promise<unknown> {
    const fieldName = fieldNodes[0]!.name.value
    const responseKey = fieldNodes[0]!.alias?.value ?? fieldName
    const owners = this.resolver.owners(type.name, fieldName)
    if (owners.length === 0) throw new GraphQLError(`No subgraph resolves ${type.name}.${fieldName}`)
    if (origin.event && typeof parent.__typename !== 'string') {
      throw new GraphQLError(`The event payload at '${path}' has no __typename, which ${type.name}.${fieldName} needs to be fetched from subgraph '${owners[0]!.datasource.subgraph.name}'`)
    }
    // The first owner whose key the object carries in full.
    let chosen: { datasource: Datasource; representation: Json } | undefined
    let missing: string | undefined
    for (const { datasource, keys } of owners) {
      for (const key of keys) {
        const values = this.readKey(parent, origin, key)
        if (typeof values === 'string') missing ??= values
        else {
          chosen = { datasource, representation: { __typename: type.name, ...values } }
          break
        }
      }
      if (chosen) break
    }
    if (!chosen) {
      const what = origin.event ? 'The event payload' : `The object from subgraph '${origin.datasource.subgraph.name}'`
      throw new GraphQLError(`${what} at '${path}' lacks the key field "${missing}" of ${type.name}`)
    }
    const { datasource, representation } = chosen
    const requires = datasource.requires.get(`${type.name}.${fieldName}`)
    if (requires !== undefined) Object.assign(representation, await this.requiredValues(parent, origin, type, requires, path, batch))
    const printed = this.printField(datasource, type, fieldNodes)
    const entity = await batch.load(datasource, type.name, representation, printed, path)
    return this.tag(entity?.[responseKey] ?? null, { event: false, datasource })
  }

  /** The values of a key's fields on this object, or the name of the first one it lacks. */
  private readKey(parent: Json, origin: Origin, key: EntityKey): Json | string {
    const values: Json = {}
    for (const selection of parseSelection(key.fields).selections) {
      if (selection.kind !== Kind.FIELD) continue
      const name = selection.name.value
      const value = origin.event ? parent[name] : (parent[KEY_ALIAS + name] ?? parent[name])
      if (value === undefined || value === null) return name
      values[name] = value
    }
    return values
  }

  /** The fields a @requires names, fetched from the subgraphs that own them (or read from the event). */
  private async requiredValues(parent: Json, origin: Origin, type: GraphQLObjectType, requires: string, path: string, batch: EntityBatch): Promise<Json> {
    const values: Json = {}
    await Promise.all(
      parseSelection(requires).selections.map(async (selection) => {
        if (selection.kind !== Kind.FIELD) return
        const name = selection.name.value
        if (origin.event && this.resolver.provides(origin, this.eventSource, type.name, name) && name in parent) {
          values[name] = parent[name]
          return
        }
        const alias = REQUIRED_ALIAS + name
        const field: FieldNode = { ...selection, alias: { kind: Kind.NAME, value: alias } }
        const value = await this.fetchField(parent, origin, type, [field], path, batch)
        values[name] = value
      }),
    )
    return values
  }

  /** The field as the subgraph gets it, printed once per place in the operation (events of a stream share it). */
  private printField(datasource: Datasource, type: GraphQLObjectType, fieldNodes: readonly FieldNode[]): string {
    let byPlace = this.printedFields.get(fieldNodes[0]!)
    if (!byPlace) this.printedFields.set(fieldNodes[0]!, (byPlace = new Map()))
    const place = `${datasource.id} ${type.name} ${fieldNodes.length}`
    let printed = byPlace.get(place)
    if (printed === undefined) {
      const fieldName = fieldNodes[0]!.name.value
      const responseKey = fieldNodes[0]!.alias?.value ?? fieldName
      printed = `${responseKey}: ${fieldName}${this.printArguments(fieldNodes[0]!)}${this.printSubselection(datasource, type, fieldNodes)}`
      byPlace.set(place, printed)
    }
    return printed
  }

  /** Arguments with the operation's variables written in as literals. */
  private printArguments(field: FieldNode): string {
    if (!field.arguments?.length) return ''
    const withValues = visit(field, {
      Variable: (node) => {
        const definition = this.operation.variableDefinitions?.find((candidate) => candidate.variable.name.value === node.name.value)
        const type = definition && (typeFromAST(this.schema, definition.type as never) as GraphQLInputType | undefined)
        return (type && astFromValue(this.variables[node.name.value], type)) ?? ({ kind: Kind.NULL } as ValueNode)
      },
    })
    return `(${withValues.arguments!.map((argument) => print(argument)).join(', ')})`
  }

  /** `{ … }` of what `datasource` resolves below `type.field`, with the keys later hops need. */
  private printSubselection(datasource: Datasource, type: GraphQLObjectType, fieldNodes: readonly FieldNode[]): string {
    const fieldType = getNamedType(type.getFields()[fieldNodes[0]!.name.value]!.type)
    if (isLeafType(fieldType)) return ''
    const selections = fieldNodes.flatMap((node) => node.selectionSet?.selections ?? [])
    return ` { ${this.printSelections(datasource, fieldType as GraphQLCompositeType, selections)} }`
  }

  private printSelections(datasource: Datasource, type: GraphQLCompositeType, selections: readonly SelectionNode[]): string {
    const parts = ['__typename']
    for (const selection of selections) {
      if (!this.included(selection)) continue
      if (selection.kind === Kind.FIELD) {
        const name = selection.name.value
        if (name.startsWith('__')) continue
        if (datasource.owned.get(type.name)?.has(name) !== true) continue
        if (!('getFields' in type)) continue
        const field = type.getFields()[name]
        if (!field) continue
        const named = getNamedType(field.type)
        const sub = isLeafType(named) ? '' : ` { ${this.printSelections(datasource, named as GraphQLCompositeType, selection.selectionSet?.selections ?? [])} }`
        parts.push(`${selection.alias?.value ?? name}: ${name}${this.printArguments(selection)}${sub}`)
      } else {
        const fragment = selection.kind === Kind.INLINE_FRAGMENT ? selection : this.fragments[selection.name.value]
        if (!fragment) continue
        const condition = fragment.typeCondition ? (this.schema.getType(fragment.typeCondition.name.value) as GraphQLCompositeType | undefined) : type
        if (!condition) continue
        parts.push(`... on ${condition.name} { ${this.printSelections(datasource, condition, fragment.selectionSet.selections)} }`)
      }
    }
    // Key fields of every entity type this position may hold, for the hops that follow.
    const possible: readonly GraphQLObjectType[] = isAbstractType(type) ? this.schema.getPossibleTypes(type) : isObjectType(type) ? [type] : []
    for (const objectType of possible) {
      const keyParts: string[] = []
      for (const key of this.resolver.keysOf(objectType.name)) {
        for (const selection of parseSelection(key.fields).selections) {
          if (selection.kind !== Kind.FIELD || datasource.owned.get(objectType.name)?.has(selection.name.value) !== true) continue
          const printed = `${KEY_ALIAS}${selection.name.value}: ${print(withoutAlias(selection)).replace(/\s+/g, ' ')}`
          if (!keyParts.includes(printed)) keyParts.push(printed)
        }
      }
      if (keyParts.length > 0) parts.push(objectType === type ? keyParts.join(' ') : `... on ${objectType.name} { ${keyParts.join(' ')} }`)
    }
    return parts.join(' ')
  }

  /** @skip / @include with the operation's variables. */
  private included(selection: SelectionNode): boolean {
    for (const directive of selection.directives ?? []) {
      const name = directive.name.value
      if (name !== 'skip' && name !== 'include') continue
      const argument = directive.arguments?.find((candidate) => candidate.name.value === 'if')
      const value = argument?.value.kind === Kind.VARIABLE ? this.variables[argument.value.name.value] : argument?.value.kind === Kind.BOOLEAN ? argument.value.value : undefined
      if (name === 'skip' && value === true) return false
      if (name === 'include' && value === false) return false
    }
    return true
  }

  /** Marks objects (through lists) with where they came from. */
  private tag<T>(value: T, origin: Origin): T {
    if (Array.isArray(value)) for (const item of value) this.tag(item, origin)
    else if (typeof value === 'object' && value !== null) this.origins.set(value, origin)
    return value
  }
}

/** Cosmo's form of a response path: keys joined by dots, list positions as `@`, none at the end. */
function entityPath(path: { prev: unknown; key: string | number } | undefined): string {
  const keys: string[] = []
  for (let at = (path as { prev: typeof path } | undefined)?.prev; at; at = (at as { prev: typeof path }).prev) {
    keys.unshift(typeof at.key === 'number' ? '@' : at.key)
  }
  while (keys.at(-1) === '@') keys.pop()
  return keys.join('.')
}

const parsedSelections = new Map<string, SelectionSetNode>()

/** A key field as the subgraph names it: the alias is ours, added when the key is selected. */
function withoutAlias({ alias: _alias, ...field }: FieldNode): FieldNode {
  return field
}

function parseSelection(fields: string): SelectionSetNode {
  let selection = parsedSelections.get(fields)
  if (!selection) {
    const operation = parse(`{ ${fields} }`, { noLocation: true }).definitions[0] as OperationDefinitionNode
    selection = operation.selectionSet
    parsedSelections.set(fields, selection)
  }
  return selection
}

function fragmentsOf(document: DocumentNode): Record<string, FragmentDefinitionNode> {
  const fragments: Record<string, FragmentDefinitionNode> = {}
  for (const definition of document.definitions) if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments[definition.name.value] = definition
  return fragments
}

function findRootField(selections: readonly SelectionNode[], fragments: Readonly<Record<string, FragmentDefinitionNode>>, responseKey: string): FieldNode | undefined {
  for (const selection of selections) {
    if (selection.kind === Kind.FIELD) {
      if ((selection.alias?.value ?? selection.name.value) === responseKey) return selection
    } else {
      const fragment = selection.kind === Kind.INLINE_FRAGMENT ? selection : fragments[selection.name.value]
      const found = fragment && findRootField(fragment.selectionSet.selections, fragments, responseKey)
      if (found) return found
    }
  }
  return undefined
}

/** Every selection below the root field (all its field nodes merged). */
function selectionSetOfRoot(selections: readonly SelectionNode[], fragments: Readonly<Record<string, FragmentDefinitionNode>>, responseKey: string): SelectionNode[] {
  const found: SelectionNode[] = []
  const walk = (list: readonly SelectionNode[]) => {
    for (const selection of list) {
      if (selection.kind === Kind.FIELD) {
        if ((selection.alias?.value ?? selection.name.value) === responseKey) found.push(...(selection.selectionSet?.selections ?? []))
      } else {
        const fragment = selection.kind === Kind.INLINE_FRAGMENT ? selection : fragments[selection.name.value]
        if (fragment) walk(fragment.selectionSet.selections)
      }
    }
  }
  walk(selections)
  return found
}

/** Whether some selected field below an event's object is not in the event-driven subgraph. */
function needsSubgraphs(
  schema: GraphQLSchema,
  eventSource: Datasource,
  fragments: Readonly<Record<string, FragmentDefinitionNode>>,
  type: GraphQLNamedType,
  selections: readonly SelectionNode[],
): boolean {
  const provided = (typeName: string, field: string) =>
    eventSource.owned.get(typeName)?.has(field) === true || eventSource.external.get(typeName)?.has(field) === true
  const visitSelections = (current: GraphQLNamedType, list: readonly SelectionNode[]): boolean => {
    for (const selection of list) {
      if (selection.kind === Kind.FIELD) {
        const name = selection.name.value
        if (name.startsWith('__')) continue
        const typeNames = isAbstractType(current) ? [current.name, ...schema.getPossibleTypes(current).map((t) => t.name)] : [current.name]
        if (!typeNames.some((typeName) => provided(typeName, name))) return true
        if (!('getFields' in current)) continue
        const field = (current as GraphQLObjectType).getFields()[name]
        if (field && selection.selectionSet && visitSelections(getNamedType(field.type), selection.selectionSet.selections)) return true
      } else {
        const fragment = selection.kind === Kind.INLINE_FRAGMENT ? selection : fragments[selection.name.value]
        if (!fragment) continue
        const condition = fragment.typeCondition ? schema.getType(fragment.typeCondition.name.value) : current
        if (condition && visitSelections(condition, fragment.selectionSet.selections)) return true
      }
    }
    return false
  }
  return visitSelections(type, selections)
}

/** The resolver of a graph, with its own transport. */
export function createEntityResolver(graph: FederatedGraph, subgraphTimeoutMs: number, shareInFlight: boolean): EntityResolver {
  return new EntityResolver(graph, { transport: createTransport(subgraphTimeoutMs, shareInFlight), eventDeadlineMs: subgraphTimeoutMs })
}
