import { describe, expect, it } from 'vitest'
import { parse, validate } from 'graphql'
import { loadEdfsSchema, SchemaError } from '../../../src/graphql/schema'
import { parseTemplate } from '../../../src/graphql/templates'

/** Routes hold their templates parsed. */
const templatesOf = (texts: string[]) => texts.map((text) => ({ text, parts: parseTemplate(text) }))

// Cosmo's NATS demo subgraph (docs "EDFS / NATS", full schema example), with federation v2 extras.
const cosmoDemoSdl = /* GraphQL */ `
extend schema @link(url: "https://specs.apollo.dev/federation/v2.5", import: ["@key", "@external", "@shareable"])

directive @edfs__natsRequest(subject: String!, providerId: String! = "default") on FIELD_DEFINITION
directive @edfs__natsPublish(subject: String!, providerId: String! = "default") on FIELD_DEFINITION
directive @edfs__natsSubscribe(subjects: [String!]!, providerId: String! = "default", streamConfiguration: edfs__NatsStreamConfiguration) on FIELD_DEFINITION

type edfs__PublishResult {
  success: Boolean!
}

input edfs__NatsStreamConfiguration {
  consumerName: String!
  streamName: String!
}

type Query {
  employeeFromEvent(id: Int!): Employee! @edfs__natsRequest(subject: "getEmployee.{{ args.id }}", providerId: "my-nats")
}

input UpdateEmployeeInput {
  name: String
  email: String
}

type Mutation {
  updateEmployeeMyNats(employeeID: Int!, update: UpdateEmployeeInput!): edfs__PublishResult!
    @edfs__natsPublish(subject: "employeeUpdatedMyNats.{{ args.employeeID }}", providerId: "my-nats")
}

type Subscription {
  employeeUpdated(employeeID: Int!): Employee! @edfs__natsSubscribe(subjects: ["employeeUpdated.{{ args.employeeID }}"])
  employeeUpdatedMyNats(id: Int!): Employee!
    @edfs__natsSubscribe(subjects: ["employeeUpdatedMyNats.{{ args.id }}", "employeeUpdatedMyNatsTwo.{{ args.id }}"], providerId: "my-nats")
  employeeUpdatedNatsStream(id: Int!): Employee!
    @edfs__natsSubscribe(subjects: ["employeeUpdated.{{ args.id }}"], streamConfiguration: { consumerName: "consumerName", streamName: "streamName" }, providerId: "my-nats")
}

type Employee @key(fields: "id", resolvable: false) {
  id: Int! @external
  tag: String @shareable
}
`

/** A Subscription-only SDL around one field, for the error cases. */
function withField(field: string, extraTypes = ''): string {
  return `type Employee { id: Int! }\n${extraTypes}\ntype Subscription {\n  ${field}\n}\n`
}

function schemaError(sdl: string): SchemaError {
  try {
    loadEdfsSchema(sdl)
  } catch (error) {
    expect(error).toBeInstanceOf(SchemaError)
    return error as SchemaError
  }
  throw new Error('expected a SchemaError')
}

describe('loadEdfsSchema: Cosmo SDLs as users have them', () => {
  it('loads the Cosmo NATS demo subgraph and routes only its Subscription fields', () => {
    const { routes, schema } = loadEdfsSchema(cosmoDemoSdl)
    expect([...routes.keys()]).toEqual(['employeeUpdated', 'employeeUpdatedMyNats', 'employeeUpdatedNatsStream'])
    expect(routes.get('employeeUpdated')).toEqual({ kind: 'nats', providerId: 'default', templates: templatesOf(['employeeUpdated.{{ args.employeeID }}']) })
    expect(routes.get('employeeUpdatedMyNats')).toEqual({
      kind: 'nats',
      providerId: 'my-nats',
      templates: templatesOf(['employeeUpdatedMyNats.{{ args.id }}', 'employeeUpdatedMyNatsTwo.{{ args.id }}']),
    })
    expect(routes.get('employeeUpdatedNatsStream')).toEqual({
      kind: 'nats',
      providerId: 'my-nats',
      templates: templatesOf(['employeeUpdated.{{ args.id }}']),
      streamName: 'streamName',
    })
    expect(schema.getQueryType()?.getFields().employeeFromEvent).toBeDefined()
    expect(schema.getMutationType()?.getFields().updateEmployeeMyNats).toBeDefined()
  })

  it('adds the EDFS directive definitions when the SDL has none', () => {
    const { routes } = loadEdfsSchema(/* GraphQL */ `
      type Query { employee(id: Int!): Employee @edfs__natsRequest(subject: "get.{{ args.id }}") }
      type Mutation {
        a(id: Int!): Boolean @edfs__natsPublish(subject: "a.{{ args.id }}")
        b(id: Int!): Boolean @edfs__kafkaPublish(topic: "b")
        c(id: Int!): Boolean @edfs__redisPublish(channel: "c")
      }
      type Employee { id: Int! }
      type Subscription {
        nats(id: Int!): Employee! @edfs__natsSubscribe(subjects: ["e.{{ args.id }}"], streamConfiguration: { consumerName: "c", streamName: "S" })
        kafka(region: String!): Employee! @edfs__kafkaSubscribe(topics: ["orders-{{ args.region }}"], providerId: "kafka")
        redis(symbol: String!): Employee! @edfs__redisSubscribe(channels: ["prices.{{ args.symbol }}"], providerId: "redis")
      }
    `)
    expect(routes.get('nats')).toEqual({ kind: 'nats', providerId: 'default', templates: templatesOf(['e.{{ args.id }}']), streamName: 'S' })
    expect(routes.get('kafka')).toEqual({ kind: 'kafka', providerId: 'kafka', templates: templatesOf(['orders-{{ args.region }}']) })
    expect(routes.get('redis')).toEqual({ kind: 'redis', providerId: 'redis', templates: templatesOf(['prices.{{ args.symbol }}']) })
  })

  it("takes providerId defaults from the SDL's own directive definitions (older demos: nats, kafka)", () => {
    const { routes } = loadEdfsSchema(/* GraphQL */ `
      directive @edfs__natsSubscribe(subjects: [String!]!, providerId: String! = "nats") on FIELD_DEFINITION
      directive @edfs__kafkaSubscribe(topics: [String!]!, providerId: String! = "kafka") on FIELD_DEFINITION
      type Employee { id: Int! }
      type Subscription {
        viaNats: Employee! @edfs__natsSubscribe(subjects: ["n"])
        viaKafka: Employee! @edfs__kafkaSubscribe(topics: ["k"])
        viaRedis: Employee! @edfs__redisSubscribe(channels: ["r"])
        explicit: Employee! @edfs__natsSubscribe(subjects: ["x"], providerId: "other")
      }
    `)
    expect(routes.get('viaNats')?.providerId).toBe('nats')
    expect(routes.get('viaKafka')?.providerId).toBe('kafka')
    expect(routes.get('viaRedis')?.providerId).toBe('default')
    expect(routes.get('explicit')?.providerId).toBe('other')
  })

  it('accepts and ignores federation directives, with or without their definitions, and reads the auth directives', () => {
    const { schema, routes, authorizations } = loadEdfsSchema(/* GraphQL */ `
      extend schema
        @link(url: "https://specs.apollo.dev/federation/v2.5", import: ["@key", "@requires", { name: "@shareable", as: "@share" }])
        @composeDirective(name: "@custom")

      directive @key(fields: openfed__FieldSet!, resolvable: Boolean = true) repeatable on INTERFACE | OBJECT
      directive @link(url: String!, as: String, for: link__Purpose, import: [link__Import]) repeatable on SCHEMA
      scalar openfed__FieldSet
      scalar _Any
      scalar FieldSet

      type Employee @key(fields: "id") @key(fields: "email") @authenticated @tag(name: "hr") {
        id: Int! @external
        email: String! @shareable @share
        name: String @requires(fields: "email") @override(from: "other")
        secret: String @requiresScopes(scopes: [["read:secret"]])
        details: Details @provides(fields: "surname")
      }
      type Details @shareable { surname: String @deprecated(reason: "use name") }
      type Product @interfaceObject @key(fields: "upc") { upc: String! }

      type Subscription {
        employeeUpdated(id: Int! @tag(name: "arg")): Employee! @edfs__natsSubscribe(subjects: ["employeeUpdated.{{ args.id }}"]) @tag(name: "sub")
      }
    `)
    expect(routes.get('employeeUpdated')?.templates.map((t) => t.text)).toEqual(['employeeUpdated.{{ args.id }}'])
    expect(schema.getType('Employee')).toBeDefined()
    // @authenticated on Employee guards its fields and the fields that return it.
    expect(authorizations.get('Employee.secret')).toEqual({ requiresAuthentication: true, requiredOrScopes: [['read:secret']] })
    expect(authorizations.get('Subscription.employeeUpdated')).toEqual({ requiresAuthentication: true, requiredOrScopes: [] })
    // @deprecated is a GraphQL directive and keeps its meaning.
    expect(schema.getType('Details')?.toConfig()).toMatchObject({ name: 'Details' })
    const details = schema.getType('Details') as { getFields(): Record<string, { deprecationReason?: string | null }> }
    expect(details.getFields().surname?.deprecationReason).toBe('use name')
  })

  it('merges `extend type` without a base type (federation v1 style)', () => {
    const { schema, routes } = loadEdfsSchema(/* GraphQL */ `
      extend type Query { employee(id: Int!): Employee }
      extend type Employee @key(fields: "id") { id: Int! @external }
      extend type Employee { name: String }
      extend type Subscription { a(id: Int!): Employee! @edfs__natsSubscribe(subjects: ["a.{{ args.id }}"]) }
      extend type Subscription { b: Employee! @edfs__kafkaSubscribe(topics: ["b"]) }
    `)
    expect([...routes.keys()]).toEqual(['a', 'b'])
    expect(Object.keys((schema.getType('Employee') as { getFields(): object }).getFields())).toEqual(['id', 'name'])
    expect(schema.getQueryType()?.getFields().employee).toBeDefined()
  })

  it('adds a placeholder Query type to a Subscription-only SDL, so operations validate', () => {
    const { schema } = loadEdfsSchema(withField('employeeUpdated(id: Int!): Employee! @edfs__natsSubscribe(subjects: ["e.{{ args.id }}"])'))
    expect(schema.getQueryType()?.name).toBe('Query')
    expect(validate(schema, parse('subscription { employeeUpdated(id: 1) { id } }'))).toEqual([])
  })

  it('honours an explicit schema definition', () => {
    const { schema, routes } = loadEdfsSchema(/* GraphQL */ `
      schema @link(url: "https://specs.apollo.dev/federation/v2.0") { query: RootQuery subscription: Events }
      type RootQuery { hello: String }
      type Events { tick: Int! @edfs__natsSubscribe(subjects: ["tick"]) }
    `)
    expect(schema.getSubscriptionType()?.name).toBe('Events')
    expect(routes.get('tick')?.templates.map((t) => t.text)).toEqual(['tick'])
  })

  it('accepts nested input arguments and claims in templates', () => {
    const { routes } = loadEdfsSchema(
      withField(
        'orders(filter: OrderFilter!): Employee! @edfs__natsSubscribe(subjects: ["orders.{{ args.filter.region.code }}.{{ claims.sub }}.{{args.filter.kind}}"])',
        'input OrderFilter { region: Region!, kind: Kind }\ninput Region { code: String! }\nenum Kind { RETAIL WHOLESALE }',
      ),
    )
    expect(routes.get('orders')?.templates).toHaveLength(1)
  })
})

describe('loadEdfsSchema: SchemaError cases', () => {
  it('reports SDL syntax errors with their line', () => {
    expect(schemaError('type Query {\n  a: Int\n  b: \n}').message).toMatch(/syntax error at line 4, column 1/i)
  })

  it('reports an SDL graphql-js cannot build, naming the offender', () => {
    expect(schemaError(withField('e: Unknown! @edfs__natsSubscribe(subjects: ["e"])')).message).toMatch(/Unknown type "Unknown"/)
  })

  it('reports an invalid schema with its line', () => {
    const error = schemaError(withField('e: Thing! @edfs__natsSubscribe(subjects: ["e"])', 'interface Node { id: ID! }\ntype Thing implements Node { name: String }'))
    expect(error.message).toMatch(/Interface field Node\.id expected but Thing does not provide it/)
    expect(error.message).toMatch(/line \d+/)
  })

  it('refuses a schema without a Subscription type', () => {
    expect(schemaError('type Query { a: Int }').message).toMatch(/no Subscription type/)
  })

  it('refuses a schema whose Subscription type has no fields', () => {
    expect(schemaError('type Query { a: Int }\ntype Subscription').message).toMatch(/Subscription must define one or more fields/)
  })

  it('refuses a Subscription field without a subscribe directive, naming the field and its line', () => {
    const error = schemaError(withField('ok: Employee! @edfs__natsSubscribe(subjects: ["ok"])\n  plain: Employee!'))
    expect(error.message).toMatch(/Subscription\.plain \(line 5\) has no @edfs__natsSubscribe/)
  })

  it('refuses a Subscription field with two subscribe directives', () => {
    const error = schemaError(withField('both: Employee! @edfs__natsSubscribe(subjects: ["a"]) @edfs__kafkaSubscribe(topics: ["b"])'))
    expect(error.message).toMatch(/Subscription\.both \(line 4\) has more than one/)
  })

  it('refuses an empty subject list', () => {
    expect(schemaError(withField('e: Employee! @edfs__natsSubscribe(subjects: [])')).message).toMatch(/Subscription\.e \(line 4\).*at least one entry in "subjects"/)
  })

  it('refuses a missing subject list', () => {
    expect(schemaError(withField('e: Employee! @edfs__natsSubscribe(providerId: "x")')).message).toMatch(/argument "subjects" .* is required/)
  })

  it('refuses directive values of the wrong type, naming the field', () => {
    expect(schemaError(withField('e: Employee! @edfs__kafkaSubscribe(topics: [5])')).message).toMatch(/Subscription\.e \(line 4\): @edfs__kafkaSubscribe: .*topics/)
  })

  it('refuses an empty providerId', () => {
    expect(schemaError(withField('e: Employee! @edfs__redisSubscribe(channels: ["c"], providerId: "")')).message).toMatch(/Subscription\.e .*providerId/)
  })

  it('refuses an empty template', () => {
    expect(schemaError(withField('e: Employee! @edfs__natsSubscribe(subjects: [""])')).message).toMatch(/Subscription\.e .*empty/)
  })

  it.each([
    ['an unknown argument', 'e(id: Int!): Employee! @edfs__natsSubscribe(subjects: ["e.{{ args.nope }}"])', /args\.nope refers to no argument of e \(it has: id\)/],
    ['an unknown input field', 'e(f: F!): Employee! @edfs__natsSubscribe(subjects: ["e.{{ args.f.nope }}"])', /args\.f\.nope refers to no field "nope" of input F/],
    ['a field of a scalar', 'e(id: Int!): Employee! @edfs__natsSubscribe(subjects: ["e.{{ args.id.x }}"])', /cannot select "x" from type Int!/],
    ['a whole input object', 'e(f: F!): Employee! @edfs__natsSubscribe(subjects: ["e.{{ args.f }}"])', /args\.f has type F!, not a scalar or enum/],
    ['a list', 'e(ids: [Int!]!): Employee! @edfs__natsSubscribe(subjects: ["e.{{ args.ids }}"])', /args\.ids has type \[Int!\]!, not a scalar or enum/],
    ['another root', 'e(id: Int!): Employee! @edfs__natsSubscribe(subjects: ["e.{{ env.id }}"])', /must be args\.<argument>/],
    ['an empty placeholder', 'e(id: Int!): Employee! @edfs__natsSubscribe(subjects: ["e.{{ }}"])', /must be args\.<argument>/],
    ['a bare "args"', 'e(id: Int!): Employee! @edfs__natsSubscribe(subjects: ["e.{{ args }}"])', /must be args\.<argument>/],
    ['an unclosed placeholder', 'e(id: Int!): Employee! @edfs__natsSubscribe(subjects: ["e.{{ args.id"])', /unbalanced/],
    ['a stray closing brace pair', 'e(id: Int!): Employee! @edfs__natsSubscribe(subjects: ["e.}}"])', /unbalanced/],
  ])('refuses a template with %s, naming the field and line', (_case, field, expected) => {
    const error = schemaError(withField(field, 'input F { g: String }'))
    expect(error.message).toMatch(/^Subscription\.e \(line 4\): template /)
    expect(error.message).toMatch(expected)
  })
})
