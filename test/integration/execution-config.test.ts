/**
 * A Cosmo router execution config that cannot be served stops `npm start` with one line naming
 * the file and the problem; configs are wgc's own output, spoiled one way at a time.
 */
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { loadExecutionConfig } from '../../src/federation/execution-config'
import { composeTestGraph } from '../support/federation/compose'
import { runNodeEntryToExit } from '../support/node-entry'

const dir = mkdtempSync(join(tmpdir(), 'edge-stream-configs-'))

const runToExit = (env: NodeJS.ProcessEnv) => runNodeEntryToExit({ SCHEMA: '', SCHEMA_PATH: '', ...env })

let composed: Record<string, unknown>

function writeConfig(name: string, text: string): string {
  const path = join(dir, name)
  writeFileSync(path, text)
  return path
}

/** wgc's config with one change. */
function spoiled(change: (config: Record<string, any>) => void): string {
  const config = structuredClone(composed) as Record<string, any>
  change(config)
  return JSON.stringify(config)
}

beforeAll(async () => {
  composed = JSON.parse((await composeTestGraph()).text)
})

describe('EXECUTION_CONFIG_FILE_PATH', () => {
  it('reads what wgc router compose wrote: the EDFS routes, subgraphs with routing URLs, who owns what', () => {
    const graph = loadExecutionConfig(JSON.stringify(composed), (name) => (name === 'mood' ? 'http://mood.internal/graphql' : undefined))
    expect(graph.routes.get('employeeUpdated')).toEqual({
      kind: 'nats',
      providerId: 'default',
      templates: [{ text: 'employeeUpdated.{{ args.employeeID }}', parts: ['employeeUpdated.', { source: 'args', path: ['employeeID'], text: 'args.employeeID' }] }],
    })
    expect(graph.routes.get('employeeUpdatedNatsStream')?.streamName).toBe('streamName')
    expect(graph.routes.get('employeeUpdatedMyKafka')).toMatchObject({ kind: 'kafka', providerId: 'my-kafka' })
    expect(graph.routes.get('employeeUpdates')).toMatchObject({ kind: 'redis', providerId: 'my-redis' })
    // Publish and request fields are not served here.
    expect(graph.routes.has('employeeFromEvent')).toBe(false)
    expect(graph.subgraphs.get('employees')?.url).toBe('http://localhost:4001/graphql')
    expect(graph.subgraphs.get('mood')?.url).toBe('http://mood.internal/graphql')
    const employees = graph.datasources.find((datasource) => datasource.subgraph.name === 'employees')!
    expect([...employees.owned.get('Employee')!]).toEqual(['details', 'id', 'tag', 'notes', 'updatedAt', 'derivedMood'])
    expect(employees.requires.get('Employee.derivedMood')).toBe('currentMood')
    const events = graph.datasources.find((datasource) => datasource.eventDriven)!
    expect(events.keys.find((key) => key.typeName === 'Employee')).toEqual({ typeName: 'Employee', fields: 'id', resolvable: false })
    expect(graph.routes.get('filteredEmployeeUpdated')?.filter).toEqual({ not: { in: { fieldPath: ['id'], values: [2, 6, 9, 10, 12].map((n) => ({ kind: 'static', json: String(n) })) } } })
    expect(graph.routes.get('filteredEmployeeUpdatedMyRedis')?.filter).toEqual({ in: { fieldPath: ['id'], values: [{ kind: 'template', prefix: '', argumentPath: ['ids'], suffix: '' }] } })
    expect(graph.schema.getSubscriptionType()?.getFields().employeeUpdated).toBeDefined()
  })

  it.each<[string, () => string, string]>([
    ['is not JSON', () => '{"engineConfig": ', 'is not JSON'],
    ['is JSON but no execution config', () => '{"subgraphs": []}', 'is not a Cosmo router execution config'],
    ['is of a newer compatibility version', () => spoiled((config) => (config.compatibilityVersion = '2:0.99.0')), 'newer than the version 1'],
    [
      'names an unknown event provider',
      () =>
        spoiled((config) => {
          const events = config.engineConfig.datasourceConfigurations.find((d: { customEvents?: unknown }) => d.customEvents)
          events.customEvents.pulsar = [{ engineEventConfiguration: { providerId: 'p', type: 'SUBSCRIBE', typeName: 'Subscription', fieldName: 'employeeUpdated' }, topics: ['x'] }]
        }),
      'unknown event provider "pulsar"',
    ],
    [
      'filters on an argument its field does not have',
      () =>
        spoiled((config) => {
          const entry = config.engineConfig.fieldConfigurations.find((f: { fieldName: string }) => f.fieldName === 'filteredEmployeeUpdatedMyRedis')
          entry.subscriptionFilterCondition.in.json = '["{{ args.nope }}"]'
        }),
      'Subscription.filteredEmployeeUpdatedMyRedis: @openfed__subscriptionFilter: {{ args.nope }} refers to no argument of filteredEmployeeUpdatedMyRedis',
    ],
    [
      'configures a reachable field with a key edge-stream does not read',
      () => spoiled((config) => config.engineConfig.fieldConfigurations.push({ typeName: 'Employee', fieldName: 'tag', cacheConfiguration: { maxAge: 5 } })),
      'has "cacheConfiguration" on Employee.tag (engineConfig.fieldConfigurations), which edge-stream does not apply',
    ],
    [
      'has a directive edge-stream does not apply on a reachable type of its router schema',
      () => spoiled((config) => (config.engineConfig.graphqlSchema = config.engineConfig.graphqlSchema.replace(/type Employee\b/, 'type Employee @policy(policies: [["p"]])'))),
      'has @policy on type Employee (engineConfig.graphqlSchema, line',
    ],
    ['holds a schema that does not parse', () => spoiled((config) => (config.engineConfig.graphqlClientSchema = 'type Subscription {')), 'engineConfig.graphqlClientSchema is not a valid schema: Syntax Error'],
  ])('refuses a config that %s, in one line naming the file and the problem', async (_, text, problem) => {
    const path = writeConfig(`${problem.replace(/\W+/g, '-')}.json`, text())
    const { code, output } = await runToExit({ EXECUTION_CONFIG_FILE_PATH: path })
    expect(code).toBe(1)
    expect(output.trim().split('\n')).toHaveLength(1)
    expect(output).toContain(`invalid configuration: EXECUTION_CONFIG_FILE_PATH: ${path} `)
    expect(output).toContain(problem)
  })

  it('refuses a missing file and a second graph source (SCHEMA or SCHEMA_PATH), naming them', async () => {
    const missing = await runToExit({ EXECUTION_CONFIG_FILE_PATH: join(dir, 'nowhere.json') })
    expect(missing.output.trim()).toMatch(/invalid configuration: EXECUTION_CONFIG_FILE_PATH: cannot read ".*nowhere\.json"$/)
    const path = writeConfig('composed.json', JSON.stringify(composed))
    for (const other of ['SCHEMA', 'SCHEMA_PATH']) {
      const both = await runToExit({ EXECUTION_CONFIG_FILE_PATH: path, [other]: 'type Query { a: Int }' })
      expect(both.code).toBe(1)
      expect(both.output.trim()).toBe(
        `edge-stream: invalid configuration: EXECUTION_CONFIG_FILE_PATH: is set, and so is ${other}: the execution config holds the whole graph; set only one of them`,
      )
    }
  })

  it('refuses a config whose subscriptions need a token while auth is off, naming the field', async () => {
    const path = writeConfig(
      'guarded.json',
      spoiled((config) => {
        config.engineConfig.fieldConfigurations.push({ typeName: 'Employee', fieldName: 'tag', authorizationConfiguration: { requiresAuthentication: true } })
      }),
    )
    const { code, output } = await runToExit({ EXECUTION_CONFIG_FILE_PATH: path })
    expect(code).toBe(1)
    expect(output.trim()).toBe('edge-stream: invalid configuration: AUTH_JWKS_URL: Employee.tag has @authenticated or @requiresScopes: set AUTH_JWKS_URL or AUTH_SECRET')
  })

  it('refuses a subgraph URL override that is not a URL, naming its variable', async () => {
    const path = writeConfig('composed.json', JSON.stringify(composed))
    const { code, output } = await runToExit({ EXECUTION_CONFIG_FILE_PATH: path, SUBGRAPH_EMPLOYEES_URL: 'employees:4001' })
    expect(code).toBe(1)
    expect(output).toContain('invalid configuration: SUBGRAPH_EMPLOYEES_URL: must be an http:// or https:// URL')
  })
})
