import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import {
  execute,
  getNullableType,
  getVariableValues,
  isAbstractType,
  isEnumType,
  isListType,
  isNonNullType,
  isObjectType,
  isScalarType,
  parse,
  validate,
  type GraphQLOutputType,
  type OperationDefinitionNode,
} from 'graphql'
import { compileProjection } from '../../../src/graphql/projection'
import { loadEdfsSchema } from '../../../src/graphql/schema'

const { schema } = loadEdfsSchema(/* GraphQL */ `
  scalar JSON
  enum Role { ADMIN ENGINEER MANAGER }
  interface Node { id: ID! }
  interface Named { name: String }
  type Query { hello: String }
  type Employee implements Node & Named {
    id: ID!
    name: String
    role: Role!
    tags: [String!]
    scores: [[Int]!]
    salary: Float
    active: Boolean
    meta: JSON
    manager: Employee
    details: Details!
    pets: [Pet!]
    friends: [Node]
    avatar(size: Int!): String
    viewer: Query
    toString: String
    valueOf: JSON
  }
  type Details { surname: String!, age: Int, nickname: String }
  type Dog implements Node & Named { id: ID!, name: String, barks: Boolean! }
  type Cat implements Node & Named { id: ID!, name: String, lives: Int! }
  union Pet = Dog | Cat
  type Subscription {
    employeeUpdated(id: Int!): Employee! @edfs__natsSubscribe(subjects: ["employeeUpdated.{{ args.id }}"])
    employees: [Employee] @edfs__kafkaSubscribe(topics: ["employees"])
    node: Node @edfs__redisSubscribe(channels: ["nodes"])
    pet: Pet! @edfs__natsSubscribe(subjects: ["pets"])
  }
`)

interface Case {
  query: string
  variables?: Record<string, unknown>
}

const cases: Record<string, Case> = {
  everything: {
    query: /* GraphQL */ `
      subscription Everything($id: Int!, $withTags: Boolean!, $skipDetails: Boolean = false) {
        e: employeeUpdated(id: $id) {
          __typename
          id
          name
          role
          tags @include(if: $withTags)
          scores
          ...EmployeeParts
          details @skip(if: $skipDetails) { surname age }
          manager { id manager { id name } }
          pets {
            __typename
            ... on Dog { barks name }
            ... on Cat { lives }
            ... on Node { id }
          }
          meta
          salary
          active
          first: name
        }
      }
      fragment EmployeeParts on Employee {
        name
        alias: id
        details { nickname age }
      }
    `,
    variables: { id: 1, withTags: true },
  },
  withoutTags: {
    query: 'subscription($t: Boolean!) { employeeUpdated(id: 1) { tags @include(if: $t) name @skip(if: true) role } }',
    variables: { t: false },
  },
  interfaceRoot: {
    query: /* GraphQL */ `
      subscription {
        node {
          __typename
          id
          ... on Named { name }
          ... on Employee { role friends { __typename id ... on Dog { barks } } }
          ... on Dog { barks }
          ...CatParts
        }
      }
      fragment CatParts on Cat { lives name }
    `,
  },
  unionRoot: {
    query: 'subscription { pet { ... on Cat { lives name } ... on Dog { __typename barks } ... on Named { nick: name } } }',
  },
  listRoot: {
    query: 'subscription { employees { id name toString valueOf details { surname } } }',
  },
  argumentError: {
    // A nullable variable with a default may reach a non-null argument; null then fails every event.
    query: 'subscription($size: Int = 5) { employeeUpdated(id: 1) { id avatar(size: $size) name } }',
    variables: { size: null },
  },
  argumentOk: {
    query: 'subscription($size: Int = 5) { employeeUpdated(id: 1) { avatar(size: $size) } }',
  },
  introspection: {
    query: 'subscription { employeeUpdated(id: 1) { viewer { __typename hello __type(name: "Pet") { name kind possibleTypes { name } } } } }',
  },
}

function prepareCase({ query, variables = {} }: Case) {
  const document = parse(query)
  expect(validate(schema, document)).toEqual([])
  const operation = document.definitions[0] as OperationDefinitionNode
  const coerced = getVariableValues(schema, operation.variableDefinitions ?? [], variables)
  if (coerced.errors) throw coerced.errors[0]
  const rootFieldName = /\{\s*(?:\w+\s*:\s*)?(\w+)/.exec(query.slice(query.indexOf('{')))![1]!
  const project = compileProjection(schema, document, operation, coerced.coerced, rootFieldName)
  const reference = (payload: unknown) =>
    JSON.stringify(execute({ schema, document, operationName: operation.name?.value, variableValues: variables, rootValue: { [rootFieldName]: payload } }))
  return { project, reference, rootFieldName }
}

const employee = {
  __typename: 'Employee',
  id: 1,
  name: 'Ada',
  role: 'ENGINEER',
  tags: ['a', 'b'],
  scores: [[1, 2], [null], []],
  salary: 1.5,
  active: true,
  meta: { any: ['json', 1, null, { nested: true }] },
  manager: { id: '2', name: 'Grace', manager: null },
  details: { surname: 'Lovelace', age: 36, nickname: null },
  pets: [
    { __typename: 'Dog', id: 'd1', name: 'Rex', barks: true },
    { __typename: 'Cat', id: 'c1', name: 'Tom', lives: 9 },
  ],
  friends: [{ __typename: 'Dog', id: 'd2', barks: false }, null, { __typename: 'Cat', id: 'c2' }],
}

const handPicked: unknown[] = [
  employee,
  null,
  undefined,
  {},
  5,
  'text',
  true,
  [],
  [employee, null, {}, 'x'],
  { ...employee, id: null },
  { ...employee, id: 1.5 },
  { ...employee, id: { toString: 1 } },
  { ...employee, role: 'BOSS' },
  { ...employee, role: 0 },
  { ...employee, tags: ['a', null, 'c'] },
  { ...employee, tags: 'not a list' },
  { ...employee, tags: [1, true, { a: 1 }] },
  { ...employee, scores: [[1, 'x', 2 ** 31], null, [3.5]] },
  { ...employee, scores: [1, [2]] },
  { ...employee, salary: 'NaN' },
  { ...employee, salary: '1.5' },
  { ...employee, active: 'yes' },
  { ...employee, details: null },
  { ...employee, details: { surname: null, age: 'x' } },
  { ...employee, details: [] },
  { ...employee, manager: { manager: { id: null } } },
  { ...employee, manager: 'x' },
  { ...employee, pets: [{ __typename: 'Dog', barks: null }, { __typename: 'Cat', lives: 1 }] },
  { ...employee, pets: [{ __typename: 'Cow' }] },
  { ...employee, pets: [{ __typename: 'Details' }] },
  { ...employee, pets: [{ __typename: 'Role' }] },
  { ...employee, pets: [{ __typename: 'Employee' }] },
  { ...employee, pets: [{ __typename: 'constructor' }] },
  { ...employee, pets: [{ __typename: '__proto__' }] },
  { ...employee, pets: [{ __typename: 5 }] },
  { ...employee, pets: [{}] },
  { ...employee, pets: ['Dog'] },
  { ...employee, friends: [{ __typename: 'Employee', id: 3, role: 'ADMIN', friends: [{ __typename: 'Cat', id: 1 }] }] },
  { __typename: 'Dog', id: 1, name: 'Rex', barks: true },
  { __typename: 'Cat', id: 2, lives: null },
  { __typename: 'Cat', id: 2, lives: '9' },
  { __typename: 'Pet', id: 3 },
  { __typename: 'Node' },
  { __typename: 'Query' },
  { __typename: 'Subscription' },
  { __typename: '__Type' },
  { id: 1, toString: 'own string', valueOf: 2 },
  [1, 2],
  { viewer: {} },
  { viewer: { hello: 'hi' } },
  { viewer: 'x' },
  { viewer: null },
]

describe('compileProjection equals graphql-js execute + JSON.stringify', () => {
  for (const [name, testCase] of Object.entries(cases)) {
    it(`on hand-picked payloads: ${name}`, () => {
      const { project, reference } = prepareCase(testCase)
      for (const payload of handPicked) expect(project(payload)).toBe(reference(payload))
    })
  }

  it('gives the same errors with locations and paths, errors before data', () => {
    const { project } = prepareCase(cases.everything!)
    const result = JSON.parse(project({ ...employee, tags: ['a', null], details: { surname: null } }))
    expect(Object.keys(result)).toEqual(['errors', 'data'])
    expect(result.errors).toEqual([
      { message: 'Cannot return null for non-nullable field Employee.tags.', locations: [{ line: 8, column: 11 }], path: ['e', 'tags', 1] },
      { message: 'Cannot return null for non-nullable field Details.surname.', locations: [{ line: 11, column: 45 }], path: ['e', 'details', 'surname'] },
    ])
    expect(result.data).toBeNull()
  })

  it('is reusable: no state leaks from one event to the next', () => {
    const { project, reference } = prepareCase(cases.everything!)
    const failing = { ...employee, pets: [{ __typename: 'Cow' }] }
    for (const payload of [failing, employee, failing, null, employee]) expect(project(payload)).toBe(reference(payload))
  })

  for (const [name, testCase] of Object.entries(cases)) {
    it(`on random payloads (missing fields, nulls, wrong types, wrong __typename): ${name}`, () => {
      const { project, reference, rootFieldName } = prepareCase(testCase)
      const rootType = schema.getSubscriptionType()!.getFields()[rootFieldName]!.type
      fc.assert(
        fc.property(payloadFor(rootType, 4), (payload) => {
          expect(project(payload)).toBe(reference(payload))
        }),
        { numRuns: 400 },
      )
    })
  }
})

// Random payloads shaped like the schema, then damaged, as JSON a broker could carry.
const junk: fc.Arbitrary<unknown> = fc.oneof(
  fc.constant(null),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.string({ maxLength: 4 }),
  fc.boolean(),
  fc.constant([]),
  fc.constant({}),
  fc.array(fc.integer(), { maxLength: 2 }),
)

const typenames = ['Employee', 'Dog', 'Cat', 'Details', 'Role', 'Pet', 'Node', 'Query', 'Nope', 'constructor', '__Type']

function payloadFor(type: GraphQLOutputType, depth: number): fc.Arbitrary<unknown> {
  const wellFormed = wellFormedFor(getNullableType(type), depth)
  return fc.oneof({ arbitrary: wellFormed, weight: 8 }, { arbitrary: junk, weight: 1 }).map(asBrokerJson)
}

function wellFormedFor(type: GraphQLOutputType, depth: number): fc.Arbitrary<unknown> {
  if (isNonNullType(type)) return wellFormedFor(type.ofType, depth)
  if (isListType(type)) return depth <= 0 ? fc.constant([]) : fc.array(payloadFor(type.ofType, depth - 1), { maxLength: 3 })
  if (isEnumType(type)) return fc.constantFrom(...type.getValues().map((value) => value.name), 'NOPE', 1)
  if (isScalarType(type)) return scalarFor(type.name)
  if (depth <= 0) return fc.constant(null)
  if (isAbstractType(type)) {
    const possible = schema.getPossibleTypes(type).map((objectType) => objectFor(objectType.name, depth))
    const mistyped = fc.tuple(objectFor('Employee', depth), fc.oneof(fc.constantFrom(...typenames), junk)).map(([value, typename]) => ({ ...value, __typename: typename }))
    return fc.oneof({ arbitrary: fc.oneof(...possible), weight: 6 }, { arbitrary: mistyped, weight: 1 })
  }
  if (isObjectType(type)) return objectFor(type.name, depth)
  throw new Error(`no arbitrary for ${String(type)}`)
}

function objectFor(typeName: string, depth: number): fc.Arbitrary<Record<string, unknown>> {
  const type = schema.getType(typeName)
  if (!isObjectType(type)) throw new Error(typeName)
  const fields = Object.fromEntries(Object.values(type.getFields()).map((field) => [field.name, payloadFor(field.type, depth - 1)]))
  // Every key optional: missing fields. A __typename that lies about a concrete type must not matter.
  return fc.record({ ...fields, __typename: fc.oneof(fc.constant(typeName), fc.constantFrom(...typenames)) }, { requiredKeys: [] })
}

function scalarFor(name: string): fc.Arbitrary<unknown> {
  switch (name) {
    case 'Int':
      return fc.oneof(fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), fc.constantFrom(2 ** 31, -(2 ** 31) - 1, 1.5, '12', '', true, false))
    case 'Float':
      return fc.oneof(fc.double({ noNaN: true, noDefaultInfinity: true }), fc.constantFrom('1.5', 'x', true, 1e308))
    case 'ID':
      return fc.oneof(fc.string({ maxLength: 6 }), fc.integer(), fc.constantFrom(1.5, true))
    case 'Boolean':
      return fc.oneof(fc.boolean(), fc.constantFrom(0, 1, 'true'))
    case 'String':
      return fc.oneof(fc.string({ maxLength: 8 }), fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.boolean())
    default:
      return fc.jsonValue({ maxDepth: 2 })
  }
}

/** What the app hands over: the parse of the message's JSON text. */
function asBrokerJson(value: unknown): unknown {
  const text = JSON.stringify(value)
  return text === undefined ? null : JSON.parse(text)
}
