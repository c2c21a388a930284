import { Kind, parse, type OperationDefinitionNode } from 'graphql'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { EntityResolver, type EnrichedSubscription } from '../../src/federation/entity-resolution'
import { loadExecutionConfig, type FederatedGraph } from '../../src/federation/execution-config'
import { createTransport } from '../../src/federation/subgraph-fetch'
import { composeTestGraph } from '../support/federation/compose'
import { employee, languageOf, moodOf, startTestSubgraphs, type TestSubgraphs } from '../support/federation/subgraph-servers'

// The Cosmo demo's employeeupdated subgraph (its SDL verbatim) with employees, mood and
// countries, composed by wgc, resolved against the real subgraphs.
let subgraphs: TestSubgraphs
let graph: FederatedGraph

beforeAll(async () => {
  subgraphs = await startTestSubgraphs()
  const { text } = await composeTestGraph()
  graph = loadExecutionConfig(text, (name) => subgraphs.env[`SUBGRAPH_${name.toUpperCase()}_URL`])
})
afterAll(() => subgraphs?.close())
beforeEach(() => subgraphs.reset())

function prepare(query: string, variables: Record<string, unknown> = {}, timeoutMs = 10_000): EnrichedSubscription | undefined {
  const resolver = new EntityResolver(graph, { transport: createTransport(timeoutMs, false), eventDeadlineMs: timeoutMs })
  const document = parse(query)
  const operation = document.definitions.find((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION)!
  const root = operation.selectionSet.selections[0]!
  if (root.kind !== Kind.FIELD) throw new Error('test queries select the root field directly')
  return resolver.prepare(document, operation, variables, root.name.value, root.alias?.value ?? root.name.value)
}

const event = (id: number) => JSON.stringify({ __typename: 'Employee', id })
const signal = new AbortController().signal
const context = { headers: {}, signal }

describe('entity resolution on a wgc-composed Cosmo graph', () => {
  it('leaves a selection of the event payload alone', () => {
    expect(prepare('subscription { employeeUpdated(employeeID: 1) { id __typename } }')).toBeUndefined()
  })

  it("fetches the fields of other subgraphs with _entities, as the Cosmo demo's employeeUpdated { details { forename } }", async () => {
    const enriched = prepare('subscription { employeeUpdated(employeeID: 1) { id details { forename surname } } }')!
    const [result] = (await enriched.resolve([event(1)], context)).results
    expect(JSON.parse(result!)).toEqual({ data: { employeeUpdated: { id: 1, details: { forename: 'Forename1', surname: 'Surname1' } } } })
    expect(subgraphs.employees.requests).toBe(1)
    expect(subgraphs.employees.bodies[0]!.query).toContain('_entities')
    expect(subgraphs.employees.bodies[0]!.variables).toEqual({ r0: [{ __typename: 'Employee', id: 1 }] })
  })

  it('follows entities inside entities (Country from countries) and @requires (derivedMood needs mood first)', async () => {
    const enriched = prepare(`subscription {
      e: employeeUpdated(employeeID: 2) {
        id
        mood: currentMood
        derivedMood
        ... on Employee { details { location { key { name } language } pastLocations { name country { language } } } }
      }
    }`)!
    const results = (await enriched.resolve([event(2), event(3)], context)).results
    for (const [index, id] of [2, 3].entries()) {
      const expected = employee(id)
      expect(JSON.parse(results[index]!)).toEqual({
        data: {
          e: {
            id,
            mood: moodOf(id),
            derivedMood: moodOf(id),
            details: {
              location: { key: expected.details.location.key, language: languageOf(expected.details.location.key.name) },
              pastLocations: expected.details.pastLocations.map((city) => ({ name: city.name, country: { language: languageOf(city.country.key.name) } })),
            },
          },
        },
      })
    }
    // A hop per subgraph: mood (currentMood), employees (details), countries (both countries of both events in one request),
    // then employees again for derivedMood, whose @requires needs mood's answer.
    expect(subgraphs.mood.requests).toBe(1)
    expect(subgraphs.countries.requests).toBe(1)
    expect(subgraphs.employees.requests).toBe(2)
    const derived = subgraphs.employees.bodies.find((body) => body.query.includes('derivedMood'))!
    expect(derived.variables).toEqual({ r0: [2, 3].map((id) => ({ __typename: 'Employee', id, currentMood: moodOf(id) })) })
  })

  it('resolves a batch of events with one request per subgraph, representations de-duplicated, results in event order', async () => {
    const enriched = prepare('subscription { employeeUpdated(employeeID: 1) { id tag details { forename } } }')!
    const ids = Array.from({ length: 500 }, (_, index) => (index % 50) + 1)
    const { results, requests } = await enriched.resolve(ids.map(event), context)
    expect(requests).toBe(1)
    expect(results.map((result) => JSON.parse(result))).toEqual(
      ids.map((id) => ({ data: { employeeUpdated: { id, tag: `tag-${id}`, details: { forename: `Forename${id}` } } } })),
    )
    expect(subgraphs.employees.requests).toBe(1)
    expect((subgraphs.employees.bodies[0]!.variables!.r0 as unknown[]).length).toBe(50)
  })

  it.each(['status-500', 'garbage', 'graphql-errors'] as const)("gives each event Cosmo's wrapped error and null-propagated data on %s, never the subgraph's text", async (fault) => {
    subgraphs.employees.fault = fault
    const enriched = prepare('subscription { employeeUpdated(employeeID: 1) { id notes } }')!
    // The same payload twice in one batch: each of its events gets the error.
    const results = (await enriched.resolve([event(1), event(2), event(1)], context)).results
    expect(results).toHaveLength(3)
    for (const result of results) {
      expect(JSON.parse(result)).toEqual({
        errors: [{ message: "Failed to fetch from Subgraph 'employees' at Path 'employeeUpdated'." }],
        data: { employeeUpdated: { id: expect.any(Number), notes: null } },
      })
      expect(result).not.toMatch(/secret|password|trace|127\.0\.0\.1/)
    }
    // A non-null field that failed takes its nullable parent with it, as in graphql-js.
    const [nonNull] = (await prepare('subscription { employeeUpdated(employeeID: 1) { id details { forename } } }')!.resolve([event(1)], context)).results
    expect(JSON.parse(nonNull!)).toEqual({ errors: [{ message: "Failed to fetch from Subgraph 'employees' at Path 'employeeUpdated'." }], data: null })
  })

  it('fails the events of a subgraph that does not answer within SUBGRAPH_TIMEOUT_MS, and nothing else', async () => {
    subgraphs.countries.fault = 'no-answer'
    const enriched = prepare('subscription { employeeUpdated(employeeID: 1) { id details { forename location { language } } } }', {}, 300)!
    const [result] = (await enriched.resolve([event(4)], context)).results
    expect(JSON.parse(result!)).toEqual({
      errors: [{ message: "Failed to fetch from Subgraph 'countries' at Path 'employeeUpdated.details.location'." }],
      data: { employeeUpdated: { id: 4, details: { forename: 'Forename4', location: { language: null } } } },
    })
  })

  it('names what an event payload lacks: __typename or a key field', async () => {
    const enriched = prepare('subscription { employeeUpdated(employeeID: 1) { id tag } }')!
    const [noTypename, noKey] = (await enriched.resolve([JSON.stringify({ id: 1 }), JSON.stringify({ __typename: 'Employee' })], context)).results
    expect(JSON.parse(noTypename!).errors[0].message).toBe(
      "The event payload at 'employeeUpdated' has no __typename, which Employee.tag needs to be fetched from subgraph 'employees'",
    )
    expect(JSON.parse(noKey!).errors.map((error: { message: string }) => error.message)).toContain(
      'The event payload at \'employeeUpdated\' lacks the key field "id" of Employee',
    )
    expect(subgraphs.employees.requests).toBe(0)
  })
})
