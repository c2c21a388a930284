import {
  GraphQLBoolean,
  GraphQLError,
  GraphQLID,
  GraphQLInt,
  GraphQLString,
  SchemaMetaFieldDef,
  TypeMetaFieldDef,
  TypeNameMetaFieldDef,
  getArgumentValues,
  isAbstractType,
  isLeafType,
  isListType,
  isNonNullType,
  isObjectType,
  type DocumentNode,
  type FieldNode,
  type GraphQLAbstractType,
  type GraphQLField,
  type GraphQLLeafType,
  type GraphQLObjectType,
  type GraphQLOutputType,
  type GraphQLResolveInfo,
  type GraphQLSchema,
  type OperationDefinitionNode,
} from 'graphql'
import { collectFields, collectSubfields, fragmentsOf, type CollectedFields, type Variables } from './collect-fields'

/**
 * Applies a subscription's selection set to one event, with the result graphql-js would give:
 * `JSON.stringify(execute({ schema, document, operationName, variableValues,
 * rootValue: { [rootFieldName]: payload } }))`, errors (messages, locations, paths, order, null
 * propagation) included. The selection is compiled once into closures that write JSON text, so an
 * event costs no AST walk, no result object and no second serialization.
 *
 * Events that raise no field error, nearly all of them, go through closures that keep no response
 * path and catch nothing. The first field error abandons that event's text, which is then written
 * again by closures that track the path and null what the error reaches (compiled on first need):
 * projecting is a pure function of the payload, so the second pass meets the same errors.
 *
 * Assumes what SDL-built schemas guarantee: no resolvers except introspection's, no
 * `resolveType`/`isTypeOf` (abstract types resolve from `__typename`), synchronous execution.
 */
export function compileProjection(
  schema: GraphQLSchema,
  document: DocumentNode,
  operation: OperationDefinitionNode,
  variableValues: Variables,
  rootFieldName: string,
): (payload: unknown) => string {
  const rootType = schema.getRootType(operation.operation)
  if (!rootType) throw new Error(`The schema has no ${operation.operation} type`)
  const compile = (trackPaths: boolean) => {
    const compiler = new Compiler(schema, document, operation, variableValues, trackPaths)
    const root = compiler.object(rootType, collectFields(schema, compiler.fragments, variableValues, rootType, operation.selectionSet))
    return { root, state: compiler.state }
  }
  const fast = compile(false)
  let withErrors: ((payload: unknown) => string) | undefined
  return (payload) => {
    fast.state.rootValue = { [rootFieldName]: payload }
    try {
      return `{"data":${fast.root(fast.state.rootValue)}}`
    } catch (error) {
      if (!(error instanceof FieldError)) throw error
    }
    withErrors ??= projectWithErrors(compile(true), rootFieldName)
    return withErrors(payload)
  }
}

/** The projection that locates field errors and nulls what they reach, as graphql-js does. */
function projectWithErrors({ root, state }: { root: Complete; state: State }, rootFieldName: string): (payload: unknown) => string {
  return (payload) => {
    state.path.length = 0
    state.errors.length = 0
    state.rootValue = { [rootFieldName]: payload }
    let data: string
    try {
      data = root(state.rootValue)
    } catch (error) {
      data = recordOrRethrow(state, error, 0)
    }
    // graphql-js puts `errors` before `data` when there are errors.
    return state.errors.length === 0 ? `{"data":${data}}` : `{"errors":[${state.errors.join(',')}],"data":${data}}`
  }
}

/** Turns a value at the current position into JSON text, or throws a FieldError. */
type Complete = (value: unknown) => string

/** A field error already located and serialized like graphql-js's `GraphQLError.toJSON()`. */
class FieldError {
  constructor(readonly json: string) {}
}

/** Per-projection scratch space: `project` is synchronous, so one event at a time uses it. */
interface State {
  path: (string | number)[]
  errors: string[]
  rootValue: Record<string, unknown>
}

/** One response field of one object type: what its errors need to say where they happened. */
interface Site {
  parentType: GraphQLObjectType
  field: GraphQLField<unknown, unknown>
  nodes: readonly FieldNode[]
  locationsJson: string
}

class Compiler {
  readonly fragments
  readonly state: State = { path: [], errors: [], rootValue: {} }

  constructor(
    private readonly schema: GraphQLSchema,
    document: DocumentNode,
    private readonly operation: OperationDefinitionNode,
    private readonly variables: Variables,
    /** Keep the response path and record errors at nullable fields; without, any field error is thrown out whole. */
    private readonly trackPaths: boolean,
  ) {
    this.fragments = fragmentsOf(document)
  }

  object(type: GraphQLObjectType, fields: CollectedFields): Complete {
    const entries: { prefix: string; run: (source: unknown) => string }[] = []
    for (const [responseKey, nodes] of fields) {
      const field = this.fieldDefinition(type, nodes[0]!)
      if (!field) continue // graphql-js leaves fields unknown to the runtime type out of the result
      entries.push({ prefix: `${entries.length > 0 ? ',' : ''}${JSON.stringify(responseKey)}:`, run: this.field(type, field, responseKey, nodes) })
    }
    return (source) => {
      let json = '{'
      for (const entry of entries) json += entry.prefix + entry.run(source)
      return `${json}}`
    }
  }

  private fieldDefinition(type: GraphQLObjectType, node: FieldNode): GraphQLField<unknown, unknown> | undefined {
    const name = node.name.value
    if (name === TypeNameMetaFieldDef.name) return TypeNameMetaFieldDef
    if (type === this.schema.getQueryType()) {
      if (name === SchemaMetaFieldDef.name) return SchemaMetaFieldDef
      if (name === TypeMetaFieldDef.name) return TypeMetaFieldDef
    }
    return type.getFields()[name]
  }

  private field(parentType: GraphQLObjectType, field: GraphQLField<unknown, unknown>, responseKey: string, nodes: readonly FieldNode[]) {
    if (field === TypeNameMetaFieldDef) {
      const typename = JSON.stringify(parentType.name)
      return () => typename
    }
    const site: Site = { parentType, field, nodes, locationsJson: locationsJson(new GraphQLError('', { nodes })) }
    const { state } = this
    const complete = this.value(field.type, site)
    const resolve = this.resolver(site)
    if (!this.trackPaths) return (source: unknown): string => complete(resolve(source))
    const run = (source: unknown): string => {
      state.path.push(responseKey)
      const json = complete(resolve(source))
      state.path.pop()
      return json
    }
    if (isNonNullType(field.type)) return run // its errors null the parent instead
    return (source: unknown): string => {
      const depth = state.path.length
      try {
        return run(source)
      } catch (error) {
        return recordOrRethrow(state, error, depth)
      }
    }
  }

  /** graphql-js's default field resolver (a property read), or the field's own (introspection). */
  private resolver(site: Site): (source: unknown) => unknown {
    const { state } = this
    let args: Record<string, unknown>
    try {
      args = getArgumentValues(site.field, site.nodes[0]!, this.variables)
    } catch (error) {
      // graphql-js coerces arguments before every resolver call, so every event fails the same way.
      return () => {
        throw located(state, site, error)
      }
    }
    const info = (): GraphQLResolveInfo => this.resolveInfo(site)
    const name = site.field.name
    const resolve = site.field.resolve
    if (resolve) {
      return (source) => {
        try {
          return resolve(source, args, undefined, info())
        } catch (error) {
          throw located(state, site, error)
        }
      }
    }
    return (source) => {
      if (typeof source !== 'object' || source === null) return undefined
      const property = (source as Record<string, unknown>)[name]
      if (typeof property !== 'function') return property
      // Inherited methods (a field named `toString` or `valueOf`) are called, as graphql-js does.
      try {
        return property.call(source, args, undefined, info())
      } catch (error) {
        throw located(state, site, error)
      }
    }
  }

  /** Built only for the rare resolver call; path segments carry no typename, which no such resolver reads. */
  private resolveInfo(site: Site): GraphQLResolveInfo {
    let path: GraphQLResolveInfo['path'] | undefined
    for (const key of this.state.path) path = { prev: path, key, typename: undefined }
    return {
      fieldName: site.field.name,
      fieldNodes: site.nodes,
      returnType: site.field.type,
      parentType: site.parentType,
      path: path!,
      schema: this.schema,
      fragments: this.fragments,
      rootValue: this.state.rootValue,
      operation: this.operation,
      variableValues: this.variables,
    }
  }

  private value(type: GraphQLOutputType, site: Site): Complete {
    const { state } = this
    if (isNonNullType(type)) {
      const completeInner = this.nonNullValue(type.ofType, site)
      const message = `Cannot return null for non-nullable field ${site.parentType.name}.${site.field.name}.`
      return (value) => {
        if (value == null) throw located(state, site, message)
        return completeInner(value)
      }
    }
    const completeInner = this.nonNullValue(type, site)
    return (value) => (value == null ? 'null' : completeInner(value))
  }

  /** Completion of a value already known not to be null or undefined. */
  private nonNullValue(type: GraphQLOutputType, site: Site): Complete {
    if (isListType(type)) return this.list(type.ofType, site)
    if (isLeafType(type)) return this.leaf(type, site)
    if (isAbstractType(type)) return this.abstract(type, site)
    if (isObjectType(type)) return this.object(type, collectSubfields(this.schema, this.fragments, this.variables, type, site.nodes))
    throw new Error(`Unexpected output type ${String(type)}`)
  }

  private list(itemType: GraphQLOutputType, site: Site): Complete {
    const { state } = this
    const completeItem = this.value(itemType, site)
    const itemsAreNullable = !isNonNullType(itemType)
    const notAList = `Expected Iterable, but did not find one for field "${site.parentType.name}.${site.field.name}".`
    if (!this.trackPaths) {
      return (value) => {
        if (!Array.isArray(value)) throw located(state, site, notAList)
        let json = '['
        for (let index = 0; index < value.length; index++) json += (index > 0 ? ',' : '') + completeItem(value[index])
        return `${json}]`
      }
    }
    return (value) => {
      // Parsed JSON has no iterables but arrays.
      if (!Array.isArray(value)) throw located(state, site, notAList)
      let json = '['
      for (let index = 0; index < value.length; index++) {
        if (index > 0) json += ','
        const depth = state.path.length
        state.path.push(index)
        if (itemsAreNullable) {
          try {
            json += completeItem(value[index])
          } catch (error) {
            json += recordOrRethrow(state, error, depth)
          }
        } else {
          json += completeItem(value[index])
        }
        state.path.length = depth
      }
      return `${json}]`
    }
  }

  private leaf(type: GraphQLLeafType, site: Site): Complete {
    const { state } = this
    const serialize = (value: unknown): string => {
      let serialized: unknown
      try {
        serialized = type.serialize(value)
      } catch (error) {
        throw located(state, site, error)
      }
      // graphql-js refuses a serializer that turns a value into nothing; built-in ones never do.
      if (serialized == null) throw located(state, site, `Expected \`${type.name}.serialize\` to return non-nullable value`)
      return JSON.stringify(serialized)
    }
    // The built-in scalars return a value of their own JSON type unchanged: skip their checks for it.
    switch (type) {
      case GraphQLString:
      case GraphQLID:
        return (value) => (typeof value === 'string' ? JSON.stringify(value) : serialize(value))
      case GraphQLInt:
        return (value) => (typeof value === 'number' && (value | 0) === value ? String(value) : serialize(value))
      case GraphQLBoolean:
        return (value) => (value === true ? 'true' : value === false ? 'false' : serialize(value))
      default:
        return serialize
    }
  }

  /** Interfaces and unions resolve from `__typename`, like graphql-js's defaultTypeResolver. */
  private abstract(type: GraphQLAbstractType, site: Site): Complete {
    const { state, schema } = this
    // Compiled on first sight: compiling every possible type up front could explode with nesting.
    const byTypename = new Map<string, Complete>()
    const where = `for field "${site.parentType.name}.${site.field.name}"`
    return (value) => {
      const typename = typeof value === 'object' ? (value as { __typename?: unknown }).__typename : undefined
      if (typeof typename !== 'string') {
        throw located(
          state,
          site,
          `Abstract type "${type.name}" must resolve to an Object type at runtime ${where}. Either the "${type.name}" type should provide a "resolveType" function or each possible type should provide an "isTypeOf" function.`,
        )
      }
      let complete = byTypename.get(typename)
      if (!complete) {
        const runtimeType = schema.getType(typename)
        if (runtimeType == null) {
          throw located(state, site, `Abstract type "${type.name}" was resolved to a type "${typename}" that does not exist inside the schema.`)
        }
        if (!isObjectType(runtimeType)) {
          throw located(state, site, `Abstract type "${type.name}" was resolved to a non-object type "${typename}".`)
        }
        if (!schema.isSubType(type, runtimeType)) {
          throw located(state, site, `Runtime Object type "${typename}" is not a possible type for "${type.name}".`)
        }
        // Only real possible types are cached, so payloads cannot grow this map without bound.
        complete = this.object(runtimeType, collectSubfields(schema, this.fragments, this.variables, runtimeType, site.nodes))
        byTypename.set(typename, complete)
      }
      return complete(value)
    }
  }
}

/** Records an error at a nullable position (whose value becomes null) after restoring the path. */
function recordOrRethrow(state: State, error: unknown, depth: number): string {
  if (!(error instanceof FieldError)) throw error
  state.path.length = depth
  state.errors.push(error.json)
  return 'null'
}

/** Locates an error at the current path, as graphql-js's locatedError does at the innermost field or list item. */
function located(state: State, site: Site, error: unknown): FieldError {
  const message = typeof error === 'string' ? error : error instanceof Error ? error.message : String(error)
  // An error that names its own nodes (an argument coercion error) keeps their locations.
  const locations = error instanceof GraphQLError && error.nodes ? locationsJson(error) : site.locationsJson
  return new FieldError(`{"message":${JSON.stringify(message)}${locations},"path":${JSON.stringify(state.path)}}`)
}

function locationsJson(error: GraphQLError): string {
  return error.locations ? `,"locations":${JSON.stringify(error.locations)}` : ''
}
