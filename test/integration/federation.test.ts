import { afterAll, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest'
import { CursorCodec, subscriptionBinding } from '../../src/cursor/codec'
import { composeGuardedTestGraph, composeTestGraph, type ComposedConfig } from '../support/federation/compose'
import { signToken } from '../support/jwks-server'
import { employee, startTestSubgraphs, type TestSubgraphs } from '../support/federation/subgraph-servers'
import { connectJetStream, type JetStreamAdmin } from '../support/jetstream'
import { streamUrl } from '../support/schemas'
import { openSse, readNextEvents, type SseEvent } from '../support/sse-client'
import { startTarget, type BundledConfig, type Target, type TargetName } from '../support/targets'

// A Cosmo graph as `wgc router compose` writes it (the demo's employeeupdated SDL verbatim, its
// subscription filters included; employees, mood and countries), served through
// EXECUTION_CONFIG_FILE_PATH on each runtime:
// events on real JetStream carry {"__typename":"Employee","id":…}; the rest comes from the
// real subgraphs through _entities.

let subgraphs: TestSubgraphs
let admin: JetStreamAdmin
let config: BundledConfig
let guardedConfig: ComposedConfig

beforeAll(async () => {
  subgraphs = await startTestSubgraphs()
  admin = await connectJetStream(inject('natsWsUrl'))
  // Every subject of the demo's employeeUpdated(employeeID:) field; each test uses its own employee ids.
  await admin.createStream({ name: 'FEDERATION_EMPLOYEES', subjects: ['employeeUpdated.>'] })
  ;[config, guardedConfig] = await Promise.all([composeTestGraph(), composeGuardedTestGraph()])
})
afterAll(async () => {
  await admin?.jsm.streams.delete('FEDERATION_EMPLOYEES').catch(() => {})
  await admin?.close()
  await subgraphs?.close()
})

/** Employee ids of one test on one target, apart from every other's. */
let nextSubject = 1000
const subjectId = () => (nextSubject += 1000)

const updated = (id: number) => ({ __typename: 'Employee', id })
const dataOf = (event: SseEvent) => JSON.parse(event.data)

describe.each<TargetName>(['node', 'workerd', 'edge'])('a federated Cosmo graph on %s', (targetName) => {
  let target: Target

  const env = () => ({
    NATS_DEFAULT_URL: inject('natsWsUrl'),
    NATS_MY_NATS_URL: inject('natsWsUrl'),
    // The demo's other providers: configured, never read by these tests.
    KAFKA_MY_KAFKA_URL: 'http://127.0.0.1:9',
    REDIS_MY_REDIS_URL: 'http://127.0.0.1:9',
    REDIS_MY_REDIS_TOKEN: 'unused',
    SUBGRAPH_TIMEOUT_MS: '1000',
    FORWARD_HEADERS: 'x-tenant',
    HEARTBEAT_SECONDS: '0.5',
    ...subgraphs.env,
  })

  beforeAll(async () => {
    target = await startTarget(targetName, env(), config)
  })
  afterAll(() => target?.close())
  beforeEach(() => subgraphs.reset())

  const query = (id: number, selection = 'id details { forename surname }') => `subscription { employeeUpdated(employeeID: ${id}) { ${selection} } }`

  it('enriches live events with fields of the employees subgraph, forwarding only allowed headers', async () => {
    const id = subjectId()
    // From the log's start, which for this subject is empty: the events arrive at the live tail.
    const connection = await openSse(streamUrl(target.baseUrl, query(id), { from: 'earliest' }), { headers: { 'x-tenant': 'acme', authorization: 'Bearer secret' } })
    expect(connection.status).toBe(200)
    await admin.publish(`employeeUpdated.${id}`, [updated(id), updated(id + 1)])
    const events = await readNextEvents(connection, 2)
    connection.cut()
    expect(events.map(dataOf)).toEqual(
      [id, id + 1].map((n) => ({ data: { employeeUpdated: { id: n, details: { forename: employee(n).details.forename, surname: employee(n).details.surname } } } })),
    )
    expect(events.every((event) => event.id)).toBe(true)
    expect(subgraphs.employees.headers.at(-1)!['x-tenant']).toBe('acme')
    expect(subgraphs.employees.headers.at(-1)!.authorization).toBeUndefined()
  })

  it('replays 10,000 events with their entities in a few _entities requests, resumes exactly after a cut', async () => {
    const id = subjectId()
    const count = 10_000
    // 50 distinct employees: each batch's representations are de-duplicated.
    await admin.publish(`employeeUpdated.${id}`, Array.from({ length: count }, (_, n) => updated(id + (n % 50))))
    const connection = await openSse(streamUrl(target.baseUrl, query(id, 'id tag details { forename }'), { from: 'earliest' }))
    const first = await readNextEvents(connection, 4_000)
    connection.cut()
    const resumed = await openSse(streamUrl(target.baseUrl, query(id, 'id tag details { forename }')), { headers: { 'Last-Event-ID': first.at(-1)!.id! } })
    const rest = await readNextEvents(resumed, count - 4_000)
    resumed.cut()
    const all = [...first, ...rest]
    expect(all.map(dataOf)).toEqual(
      Array.from({ length: count }, (_, n) => {
        const e = employee(id + (n % 50))
        return { data: { employeeUpdated: { id: e.id, tag: e.tag, details: { forename: e.details.forename } } } }
      }),
    )
    expect(new Set(all.map((event) => event.id)).size).toBe(count)
    // One request per provider batch (never one per event): at least 100 events per request on average.
    const requests = subgraphs.employees.requests
    console.log(`${targetName}: ${count} enriched events replayed with ${requests} employees requests`)
    expect(requests).toBeGreaterThan(0)
    expect(requests).toBeLessThanOrEqual(count / 100)
    expect(subgraphs.mood.requests + subgraphs.countries.requests).toBe(0)
  })

  it.each(['status-500', 'no-answer', 'garbage'] as const)('gives per-event errors while the subgraph fails (%s); the stream goes on and the cursor advances', async (fault) => {
    const id = subjectId()
    const connection = await openSse(streamUrl(target.baseUrl, query(id, 'id notes'), { from: 'earliest' }))
    await admin.publish(`employeeUpdated.${id}`, [updated(id)])
    const [ok] = await readNextEvents(connection, 1)
    expect(dataOf(ok!)).toEqual({ data: { employeeUpdated: { id, notes: employee(id).notes } } })

    subgraphs.employees.fault = fault
    await admin.publish(`employeeUpdated.${id}`, [updated(id + 1), updated(id + 2)])
    const failed = await readNextEvents(connection, 2)
    for (const [index, event] of failed.entries()) {
      expect(dataOf(event)).toEqual({
        errors: [{ message: "Failed to fetch from Subgraph 'employees' at Path 'employeeUpdated'." }],
        data: { employeeUpdated: { id: id + 1 + index, notes: null } },
      })
      expect(event.data).not.toMatch(/secret|password|trace|127\.0\.0\.1/)
    }

    subgraphs.employees.fault = 'none'
    await admin.publish(`employeeUpdated.${id}`, [updated(id + 3)])
    const [recovered] = await readNextEvents(connection, 1)
    connection.cut()
    expect(dataOf(recovered!)).toEqual({ data: { employeeUpdated: { id: id + 3, notes: employee(id + 3).notes } } })
    // Each event, failed or not, moved the position: the ids are the cursors of four events in order.
    expect(new Set([ok, ...failed, recovered].map((event) => event!.id)).size).toBe(4)
  })

  it('cuts and resumes through events its subscription filter withholds: exactly the events that pass, each once', async () => {
    const id = subjectId()
    // The demo's filteredEmployeeUpdated: NOT IN id [2, 6, 9, 10, 12], on employeeUpdated.<id>.
    const url = (params: Record<string, string>) => streamUrl(target.baseUrl, `subscription { filteredEmployeeUpdated(id: ${id}) { id details { forename } } }`, params)
    const passes = (n: number) => ![2, 6, 9, 10, 12].includes(n)
    const first12 = Array.from({ length: 12 }, (_, n) => n + 1)
    const seqs = await admin.publish(`employeeUpdated.${id}`, first12.map(updated))
    const first = await openSse(url({ from: 'earliest' }))
    const received = await readNextEvents(first, first12.filter(passes).length)
    // 12, withheld, is the log's last event: an id-only frame moves the client's position onto it.
    const pending = first.next()
    const cursorOf12 = new CursorCodec().encode(subscriptionBinding(['nats', 'default', '', `employeeUpdated.${id}`]), String(seqs.at(-1)))
    await expect.poll(() => first.lastEventId(), { timeout: 10_000, interval: 20 }).toBe(cursorOf12)
    first.cut()
    await pending

    const next24 = Array.from({ length: 24 }, (_, n) => (n % 12) + 1)
    await admin.publish(`employeeUpdated.${id}`, next24.map(updated))
    const resumed = await openSse(url({}), { headers: { 'Last-Event-ID': first.lastEventId() } })
    received.push(...(await readNextEvents(resumed, next24.filter(passes).length)))
    resumed.cut()
    expect(received.map(dataOf)).toEqual(
      [...first12, ...next24].filter(passes).map((n) => ({ data: { filteredEmployeeUpdated: { id: n, details: { forename: employee(n).details.forename } } } })),
    )
    expect(new Set(received.map((event) => event.id)).size).toBe(received.length)
  })

  it('applies @requiresScopes of a composed config: 401 without a token, 403 naming the missing scopes, 200 with them', async () => {
    const secret = 'a-test-secret-of-at-least-32-characters!!'
    const guarded = await startTarget(targetName, { ...env(), AUTH_SECRET: secret }, guardedConfig)
    try {
      const url = streamUrl(guarded.baseUrl, `subscription { employeeUpdated(employeeID: ${subjectId()}) { id } }`)
      const token = (scope: string) => signToken(new TextEncoder().encode(secret), { sub: 'u', scope })
      const refusal = async (response: Response) => ({ status: response.status, ...(await response.json()).errors[0] })
      expect(await refusal(await fetch(url))).toMatchObject({ status: 401, extensions: { code: 'UNAUTHENTICATED' } })
      expect(await refusal(await fetch(url, { headers: { Authorization: `Bearer ${await token('read:employee')}` } }))).toEqual({
        status: 403,
        message: "Unauthorized to load field 'Subscription.employeeUpdated': the token lacks the scopes read:events (required: read:employee AND read:events, or admin; the token has: read:employee)",
        extensions: { code: 'FORBIDDEN' },
      })
      const allowed = await openSse(url, { headers: { Authorization: `Bearer ${await token('read:events read:employee')}` } })
      expect(allowed.status).toBe(200)
      allowed.cut()
    } finally {
      await guarded.close()
    }
  })

  it.runIf(targetName === 'workerd')('ends a stream before its subrequests pass MAX_SUBREQUESTS (the NATS WebSocket and subgraph requests); the resume loses nothing', async () => {
    const limited = await startTarget(targetName, { ...env(), MAX_SUBREQUESTS: '4' }, config)
    try {
      const id = subjectId()
      const url = streamUrl(limited.baseUrl, query(id, 'id tag'), { from: 'earliest' })
      let connection = await openSse(url)
      const received: SseEvent[] = []
      let ends = 0
      // One event per batch: each costs one employees request; a budget holds the WebSocket and at most three.
      for (let n = 0; n < 6; n++) {
        await admin.publish(`employeeUpdated.${id}`, [updated(id + n)])
        for (let tries = 0; received.length <= n && tries < 5; tries++) {
          const [event] = await readNextEvents(connection, 1)
          if (event) {
            received.push(event)
            continue
          }
          // Spent: the stream ended without `complete`, as at MAX_STREAM_SECONDS; the client resumes.
          expect(connection.raw()).not.toMatch(/event: (complete|error)/)
          ends++
          const last = received.at(-1)?.id
          connection = await openSse(url, last === undefined ? {} : { headers: { 'Last-Event-ID': last } })
        }
      }
      connection.cut()
      expect(ends).toBeGreaterThanOrEqual(1)
      expect(received.map(dataOf)).toEqual([0, 1, 2, 3, 4, 5].map((n) => ({ data: { employeeUpdated: { id: id + n, tag: `tag-${id + n}` } } })))
    } finally {
      await limited.close()
    }
  })
})
