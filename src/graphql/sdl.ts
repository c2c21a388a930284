import {
  DirectiveLocation,
  Kind,
  parse,
  specifiedDirectives,
  visit,
  type DefinitionNode,
  type DirectiveDefinitionNode,
  type DocumentNode,
} from 'graphql'

/**
 * Turns a Cosmo subgraph SDL into one graphql-js can build on its own: Cosmo users' SDLs lean on
 * definitions that composition supplies (EDFS and federation directives, `extend type Query`
 * without a `type Query`), which `buildASTSchema` would reject.
 */

// Cosmo's own definitions (composition/src/v1/constants/directive-definitions.ts), added when absent.
const EDFS_DEFINITIONS = parse(
  `
  directive @edfs__natsRequest(subject: String!, providerId: String! = "default") on FIELD_DEFINITION
  directive @edfs__natsPublish(subject: String!, providerId: String! = "default") on FIELD_DEFINITION
  directive @edfs__natsSubscribe(subjects: [String!]!, providerId: String! = "default", streamConfiguration: edfs__NatsStreamConfiguration) on FIELD_DEFINITION
  directive @edfs__kafkaPublish(topic: String!, providerId: String! = "default") on FIELD_DEFINITION
  directive @edfs__kafkaSubscribe(topics: [String!]!, providerId: String! = "default") on FIELD_DEFINITION
  directive @edfs__redisPublish(channel: String!, providerId: String! = "default") on FIELD_DEFINITION
  directive @edfs__redisSubscribe(channels: [String!]!, providerId: String! = "default") on FIELD_DEFINITION
  input edfs__NatsStreamConfiguration { consumerInactiveThreshold: Int! = 30, consumerName: String!, streamName: String! }
  `,
  { noLocation: true },
).definitions

const EDFS_DIRECTIVE_NAMES = new Set(
  EDFS_DEFINITIONS.flatMap((definition) => (definition.kind === Kind.DIRECTIVE_DEFINITION ? [definition.name.value] : [])),
)

// Usages of any other directive (federation, @link, custom type-system ones) do not matter for
// serving subscriptions, and their definitions often come from composition, so they are dropped.
const KEPT_DIRECTIVE_USAGES = new Set([...EDFS_DIRECTIVE_NAMES, ...specifiedDirectives.map((directive) => directive.name)])

const EXECUTABLE_LOCATIONS = new Set<string>([
  DirectiveLocation.QUERY,
  DirectiveLocation.MUTATION,
  DirectiveLocation.SUBSCRIPTION,
  DirectiveLocation.FIELD,
  DirectiveLocation.FRAGMENT_DEFINITION,
  DirectiveLocation.FRAGMENT_SPREAD,
  DirectiveLocation.INLINE_FRAGMENT,
  DirectiveLocation.VARIABLE_DEFINITION,
])

const DEFINITION_KIND_OF_EXTENSION: Readonly<Partial<Record<Kind, Kind>>> = {
  [Kind.OBJECT_TYPE_EXTENSION]: Kind.OBJECT_TYPE_DEFINITION,
  [Kind.INTERFACE_TYPE_EXTENSION]: Kind.INTERFACE_TYPE_DEFINITION,
  [Kind.UNION_TYPE_EXTENSION]: Kind.UNION_TYPE_DEFINITION,
  [Kind.ENUM_TYPE_EXTENSION]: Kind.ENUM_TYPE_DEFINITION,
  [Kind.INPUT_OBJECT_TYPE_EXTENSION]: Kind.INPUT_OBJECT_TYPE_DEFINITION,
  [Kind.SCALAR_TYPE_EXTENSION]: Kind.SCALAR_TYPE_DEFINITION,
}

// GraphQL requires a query root; EDFS-only subgraphs often have none.
const PLACEHOLDER_QUERY = parse(
  `
  type Query {
    "Added by edge-stream: GraphQL requires a Query type and the SDL defines none."
    _placeholder: Boolean
  }
  `,
  { noLocation: true },
).definitions

export function prepareSdl(document: DocumentNode): DocumentNode {
  const stripped = visit(document, {
    Directive: (node) => (KEPT_DIRECTIVE_USAGES.has(node.name.value) ? undefined : null),
    DirectiveDefinition: (node) => (EDFS_DIRECTIVE_NAMES.has(node.name.value) || isExecutable(node) ? undefined : null),
  })
  // `extend schema @link(...)` is left empty once its directives are gone.
  const definitions = stripped.definitions.filter(
    (definition) => definition.kind !== Kind.SCHEMA_EXTENSION || (definition.operationTypes?.length ?? 0) > 0,
  )
  const promoted = promoteOrphanExtensions(definitions)
  const defined = new Set(promoted.map(nameOf))
  const missing = EDFS_DEFINITIONS.filter((definition) => !defined.has(nameOf(definition)))
  const needsQuery = !defined.has('Query') && !promoted.some(decidesQueryRoot)
  return { kind: Kind.DOCUMENT, definitions: [...promoted, ...missing, ...(needsQuery ? PLACEHOLDER_QUERY : [])] }
}

function isExecutable(definition: DirectiveDefinitionNode): boolean {
  return definition.locations.some((location) => EXECUTABLE_LOCATIONS.has(location.value))
}

/** `extend type X` with no `type X` (federation v1 style) becomes the definition of X. */
function promoteOrphanExtensions(definitions: readonly DefinitionNode[]): DefinitionNode[] {
  const defined = new Set<string | undefined>()
  for (const definition of definitions) {
    if (!(definition.kind in DEFINITION_KIND_OF_EXTENSION)) defined.add(nameOf(definition))
  }
  return definitions.map((definition) => {
    const definitionKind = DEFINITION_KIND_OF_EXTENSION[definition.kind]
    const name = nameOf(definition)
    if (!definitionKind || defined.has(name)) return definition
    defined.add(name)
    return { ...definition, kind: definitionKind } as DefinitionNode
  })
}

function nameOf(definition: DefinitionNode): string | undefined {
  return 'name' in definition ? definition.name?.value : undefined
}

/** graphql-js picks `type Query` as the query root by name only when no schema definition names one. */
function decidesQueryRoot(definition: DefinitionNode): boolean {
  if (definition.kind === Kind.SCHEMA_DEFINITION) return true
  return definition.kind === Kind.SCHEMA_EXTENSION && (definition.operationTypes ?? []).some((type) => type.operation === 'query')
}
