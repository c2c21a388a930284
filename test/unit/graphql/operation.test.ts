import { describe, expect, it } from 'vitest'
import { RequestError, type ErrorCode } from '../../../src/errors'
import { parseGraphQLParams, prepareSubscription, type GraphQLParams } from '../../../src/graphql/operation'
import { loadEdfsSchema } from '../../../src/graphql/schema'

const edfs = loadEdfsSchema(/* GraphQL */ `
  type Query { employee(id: Int!): Employee }
  type Mutation { touch(id: Int!): Boolean @edfs__natsPublish(subject: "touch.{{ args.id }}") }
  enum Region { EU US }
  input OrderFilter { region: Region!, minimum: Int = 10 }
  type Employee { id: Int!, name: String }
  type Order { id: ID!, region: Region! }
  type Subscription {
    employeeUpdated(id: Int!): Employee! @edfs__natsSubscribe(subjects: ["employeeUpdated.{{ args.id }}"])
    orders(filter: OrderFilter!): Order @edfs__kafkaSubscribe(topics: ["orders-{{ args.filter.region }}"], providerId: "kafka")
  }
`)

function refusal(run: () => unknown): RequestError {
  try {
    run()
  } catch (error) {
    expect(error).toBeInstanceOf(RequestError)
    return error as RequestError
  }
  throw new Error('expected a RequestError')
}

function expectRefused(run: () => unknown, code: ErrorCode, message?: RegExp): void {
  const error = refusal(run)
  expect([error.status, error.code]).toEqual([400, code])
  if (message) expect(error.message).toMatch(message)
}

describe('parseGraphQLParams', () => {
  it('reads GET parameters, whose variables and extensions are JSON text', () => {
    expect(
      parseGraphQLParams({ query: 'subscription { a }', variables: '{"id":1}', operationName: 'Op', extensions: '{"persistedQuery":{}}' }),
    ).toEqual({ query: 'subscription { a }', variables: { id: 1 }, operationName: 'Op' })
  })

  it('reads a POST body, whose variables and extensions are objects', () => {
    expect(parseGraphQLParams({ query: 'subscription { a }', variables: { id: 1 }, operationName: 'Op', extensions: {} })).toEqual({
      query: 'subscription { a }',
      variables: { id: 1 },
      operationName: 'Op',
    })
  })

  it('treats null, absent and empty optional parameters as absent', () => {
    expect(parseGraphQLParams({ query: 'q', variables: null, operationName: null, extensions: null })).toEqual({ query: 'q' })
    expect(parseGraphQLParams({ query: 'q', variables: '', operationName: '', extensions: '' })).toEqual({ query: 'q' })
    expect(parseGraphQLParams({ query: 'q', variables: 'null', extensions: 'null' })).toEqual({ query: 'q' })
  })

  it.each([undefined, null, '', '   ', 42, { query: 'x' }])('refuses a missing or non-string query (%j)', (query) => {
    expectRefused(() => parseGraphQLParams({ query }), 'BAD_REQUEST', /^Missing query$/)
  })

  it.each(['variables', 'extensions'] as const)('refuses %s that are not a JSON object', (name) => {
    for (const value of ['{not json', '[1]', '5', '"text"', 'true', [1], 5, 'x']) {
      const error = refusal(() => parseGraphQLParams({ query: 'q', [name]: value }))
      expect([error.status, error.code]).toEqual([400, 'BAD_REQUEST'])
      expect(error.message).toMatch(new RegExp(`^${name} `))
    }
  })

  it('refuses a non-string operationName', () => {
    expectRefused(() => parseGraphQLParams({ query: 'q', operationName: 5 }), 'BAD_REQUEST', /operationName/)
  })
})

describe('prepareSubscription', () => {
  const prepare = (params: GraphQLParams) => prepareSubscription(edfs, params)

  it('prepares the root field: name, alias, route, coerced arguments and projection', () => {
    const prepared = prepare({ query: 'subscription S($id: Int!) { e: employeeUpdated(id: $id) { id name } }', variables: { id: 7 } })
    expect(prepared.fieldName).toBe('employeeUpdated')
    expect(prepared.responseKey).toBe('e')
    expect(prepared.route).toBe(edfs.routes.get('employeeUpdated'))
    expect(prepared.args).toEqual({ id: 7 })
    expect(prepared.project({ id: 7, name: 'Ada', extra: true })).toBe('{"data":{"e":{"id":7,"name":"Ada"}}}')
  })

  it('coerces arguments: enums, input objects and their defaults', () => {
    const prepared = prepare({ query: 'subscription($f: OrderFilter!) { orders(filter: $f) { id region } }', variables: { f: { region: 'EU' } } })
    expect(prepared.args).toEqual({ filter: { region: 'EU', minimum: 10 } })
    expect(prepared.route.kind).toBe('kafka')
  })

  it('finds the root field through fragments and literal @include/@skip', () => {
    const prepared = prepare({
      query: `subscription {
        ...Root
        skipped: orders(filter: { region: US }) @skip(if: true) { id }
      }
      fragment Root on Subscription { ... on Subscription { employeeUpdated(id: 3) { id } } }`,
    })
    expect([prepared.fieldName, prepared.responseKey, prepared.args]).toEqual(['employeeUpdated', 'employeeUpdated', { id: 3 }])
  })

  it('selects the operation named by operationName', () => {
    const query = 'subscription A { employeeUpdated(id: 1) { id } } subscription B { orders(filter: { region: EU }) { id } }'
    expect(prepare({ query, operationName: 'B' }).fieldName).toBe('orders')
  })

  it('refuses a GraphQL syntax error with GRAPHQL_PARSE_FAILED and graphql-js\'s message', () => {
    expectRefused(() => prepare({ query: 'subscription {' }), 'GRAPHQL_PARSE_FAILED', /^Syntax Error: Expected Name, found <EOF>\.$/)
  })

  it.each([
    ['an unknown field', 'subscription { employeeUpdated(id: 1) { nope } }', /Cannot query field "nope" on type "Employee"/],
    ['a missing argument', 'subscription { employeeUpdated { id } }', /argument "id" of type "Int!" is required/],
    ['a missing selection', 'subscription { employeeUpdated(id: 1) }', /must have a selection of subfields/],
    ['two root fields', 'subscription { employeeUpdated(id: 1) { id } orders(filter: { region: EU }) { id } }', /must select only one top level field/],
    ['a root __typename', 'subscription { __typename }', /must not select an introspection top level field/],
    ['an undefined variable', 'subscription { employeeUpdated(id: $id) { id } }', /Variable "\$id" is not defined/],
    ['a root @include with a variable', 'subscription($x: Boolean!) { employeeUpdated(id: 1) @include(if: $x) { id } }', /"if".*\$x/],
  ])('refuses %s with GRAPHQL_VALIDATION_FAILED', (_case, query, message) => {
    expectRefused(() => prepare({ query, variables: { x: true } }), 'GRAPHQL_VALIDATION_FAILED', message)
  })

  it('refuses an unknown operationName with UNKNOWN_OPERATION', () => {
    expectRefused(() => prepare({ query: 'subscription A { employeeUpdated(id: 1) { id } }', operationName: 'B' }), 'UNKNOWN_OPERATION', /Unknown operation named "B"/)
  })

  it('refuses several operations without operationName, and a document without operation', () => {
    const query = 'subscription A { employeeUpdated(id: 1) { id } } subscription B { employeeUpdated(id: 2) { id } }'
    expectRefused(() => prepare({ query }), 'BAD_REQUEST', /Must provide operation name/)
    expectRefused(() => prepare({ query: 'fragment F on Employee { id }' }), 'BAD_REQUEST', /Must provide an operation/)
  })

  it.each([
    ['query', '{ employee(id: 1) { id } }'],
    ['query', 'query Q { __schema { types { name } } }'],
    ['mutation', 'mutation { touch(id: 1) }'],
  ])('refuses a %s with NOT_A_SUBSCRIPTION', (kind, query) => {
    expectRefused(() => prepare({ query }), 'NOT_A_SUBSCRIPTION', new RegExp(`not a ${kind}`))
  })

  it('refuses variables that do not coerce, with graphql-js\'s message', () => {
    const query = 'subscription($id: Int!) { employeeUpdated(id: $id) { id } }'
    expectRefused(() => prepare({ query }), 'INVALID_ARGUMENT', /Variable "\$id" of required type "Int!" was not provided\./)
    expectRefused(() => prepare({ query, variables: { id: 'x' } }), 'INVALID_ARGUMENT', /Variable "\$id" got invalid value "x"; Int cannot represent non-integer value: "x"/)
    expectRefused(
      () => prepare({ query: 'subscription($f: OrderFilter!) { orders(filter: $f) { id } }', variables: { f: { region: 'MARS' } } }),
      'INVALID_ARGUMENT',
      /Value "MARS" does not exist in "Region" enum/,
    )
  })

  it('refuses root arguments that do not coerce (a nullable variable with a default, given null)', () => {
    const query = 'subscription($id: Int = 1) { employeeUpdated(id: $id) { id } }'
    expect(prepare({ query }).args).toEqual({ id: 1 })
    expectRefused(() => prepare({ query, variables: { id: null } }), 'INVALID_ARGUMENT', /Argument "id" of non-null type "Int!" must not be null/)
  })

  it('refuses a subscription whose only root field is skipped', () => {
    expectRefused(() => prepare({ query: 'subscription { employeeUpdated(id: 1) @skip(if: true) { id } }' }), 'BAD_REQUEST', /exactly one root field/)
  })
})
