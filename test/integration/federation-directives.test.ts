/**
 * The directives of a Cosmo subgraph SDL on the embedded broker: `@openfed__subscriptionFilter`
 * with the exact frames of docs/protocol.md (the id-only frame of withheld events) and resumes
 * through withheld events; `@authenticated`/`@requiresScopes` as 401/403 before any broker I/O;
 * and every directive that is neither applied nor harmless refusing the start in one line.
 */
import { createClient } from 'graphql-sse'
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import type { Env } from '../../src/config/env'
import { CursorCodec, subscriptionBinding } from '../../src/cursor/codec'
import { createServerFromEnv } from '../../src/setup'
import { signToken } from '../support/jwks-server'
import { streamUrl } from '../support/schemas'
import { openSse, readNextEvents } from '../support/sse-client'

const base = 'http://app.test'
const SECRET = 'a-test-secret-of-at-least-32-characters!!'

const filteredSchema = /* GraphQL */ `
  type Query { ok: Boolean }
  type Employee { id: Int! name: String tag: String }
  input Tags { tags: [String!]! }
  type Subscription {
    employeeUpdated(id: Int!): Employee!
      @edfs__natsSubscribe(subjects: ["employees.{{ args.id }}"])
      @openfed__subscriptionFilter(condition: { NOT: { IN: { fieldPath: "id", values: [2, 6, 9, 10, 12] } } })
    taggedUpdates(room: String!, input: Tags!): Employee!
      @edfs__natsSubscribe(subjects: ["tagged.{{ args.room }}"])
      @openfed__subscriptionFilter(condition: { OR: [{ IN: { fieldPath: "tag", values: ["{{ args.input.tags }}"] } }, { IN: { fieldPath: "name", values: ["boss"] } }] })
  }
`

function appWith(schema: string, env: Env = {}) {
  const server = createServerFromEnv({ SCHEMA: schema, NATS_DEFAULT_URL: 'memory:', LOG_LEVEL: 'silent', ...env })
  const broker = server.memoryBroker!
  return {
    publish: (subject: string, payloads: unknown[]) => payloads.map((payload) => broker.publish(subject, JSON.stringify(payload))),
    fetch: (url: string, init?: RequestInit) => server.app.fetch(new Request(new URL(url, base), init)),
  }
}

const cursorOf = (subject: string, seq: number) => new CursorCodec().encode(subscriptionBinding(['nats', 'default', '', subject]), String(seq))

/** The frames docs/protocol.md shows after `after`, in its first fenced block there. */
function documentedFrames(after: string): string {
  const protocol = readFileSync(new URL('../../docs/protocol.md', import.meta.url), 'utf8')
  const start = protocol.indexOf(after)
  expect(start, `docs/protocol.md has no "${after}"`).toBeGreaterThanOrEqual(0)
  const block = /```\n([\s\S]*?)```/.exec(protocol.slice(start))?.[1]
  if (block === undefined) throw new Error(`docs/protocol.md has no frames after "${after}"`)
  return block
}

describe('@openfed__subscriptionFilter in an SDL', () => {
  it('delivers what passes and ends a batch whose last events were withheld with an id-only frame, as docs/protocol.md shows', async () => {
    const { fetch, publish } = appWith(filteredSchema)
    // One provider batch: 1 passes, 2 is withheld, 3 passes, 6 and 9 are withheld.
    publish('employees.7', [1, 2, 3, 6, 9].map((id) => ({ id, name: `e${id}` })))
    const connection = await openSse(streamUrl(base, 'subscription { employeeUpdated(id: 7) { id name } }', { from: 'earliest' }), {}, fetch)
    await readNextEvents(connection, 2)
    // The id-only frame dispatches nothing: read on until it is on the wire.
    const pending = connection.next()
    await expect.poll(() => connection.raw().includes(`id: ${cursorOf('employees.7', 5)}\n\n`), { timeout: 5000, interval: 10 }).toBe(true)
    connection.cut()
    await pending
    const expected =
      'retry: 2000\n: ok\n\n' +
      `id: ${cursorOf('employees.7', 1)}\nevent: next\ndata: {"data":{"employeeUpdated":{"id":1,"name":"e1"}}}\n\n` +
      `id: ${cursorOf('employees.7', 3)}\nevent: next\ndata: {"data":{"employeeUpdated":{"id":3,"name":"e3"}}}\n\n` +
      `id: ${cursorOf('employees.7', 5)}\n\n`
    expect(connection.raw()).toBe(expected)
    // The doc shows the same frames, with its own cursors.
    const documented = documentedFrames('withheld by a subscription filter')
    const cursors = /id: (\S+)\n[\s\S]*?id: (\S+)\n[\s\S]*?id: (\S+)\n\n$/.exec(documented)
    expect(cursors).not.toBeNull()
    expect(documented.replaceAll(cursors![1]!, 'A').replaceAll(cursors![2]!, 'B').replaceAll(cursors![3]!, 'C')).toBe(
      expected
        .replace('retry: 2000\n: ok\n\n', '')
        .replace(cursorOf('employees.7', 1), 'A')
        .replace(cursorOf('employees.7', 3), 'B')
        .replace(cursorOf('employees.7', 5), 'C'),
    )
  })

  it('resumes after withheld events: nothing withheld comes back, nothing that passed is lost', async () => {
    const { fetch, publish } = appWith(filteredSchema)
    const query = 'subscription { employeeUpdated(id: 8) { id } }'
    const ids = Array.from({ length: 40 }, (_, n) => n + 1)
    const passing = (id: number) => ![2, 6, 9, 10, 12].includes(id)
    publish('employees.8', ids.slice(0, 12).map((id) => ({ id })))
    const first = await openSse(streamUrl(base, query, { from: 'earliest' }), {}, fetch)
    // 1..12: the last four (9, 10, 12 withheld after 11) end with the id of 12.
    const seen = await readNextEvents(first, ids.slice(0, 12).filter(passing).length)
    const pending = first.next()
    await expect.poll(() => first.raw().endsWith(`id: ${cursorOf('employees.8', 12)}\n\n`), { timeout: 5000, interval: 10 }).toBe(true)
    first.cut()
    await pending
    // EventSource's lastEventId is now the id-only frame's: the resume starts after event 12.
    publish('employees.8', ids.slice(12).map((id) => ({ id })))
    const resumed = await openSse(streamUrl(base, query), { headers: { 'Last-Event-ID': cursorOf('employees.8', 12) } }, fetch)
    seen.push(...(await readNextEvents(resumed, ids.slice(12).filter(passing).length)))
    resumed.cut()
    expect(seen.map((event) => JSON.parse(event.data).data.employeeUpdated.id)).toEqual(ids.filter(passing))
  })

  it('compares list arguments item by item, with the JSON types of the arguments as sent', async () => {
    const { fetch, publish } = appWith(filteredSchema)
    publish('tagged.r', [
      { id: 1, tag: 'a' },
      { id: 2, tag: 'z' },
      { id: 3, name: 'boss' },
      { id: 4, tag: 'b' },
    ])
    const query = 'subscription($tags: [String!]!) { taggedUpdates(room: "r", input: { tags: $tags }) { id } }'
    const connection = await openSse(streamUrl(base, query, { from: 'earliest', variables: JSON.stringify({ tags: ['a', 'b'] }) }), {}, fetch)
    const events = await readNextEvents(connection, 3)
    connection.cut()
    expect(events.map((event) => JSON.parse(event.data).data.taggedUpdates.id)).toEqual([1, 3, 4])
  })

  it("lets graphql-sse's client (POST) read on past an id-only frame: it dispatches the next events and fails nothing", async () => {
    const { fetch, publish } = appWith(filteredSchema)
    publish('employees.9', [{ id: 1 }, { id: 2 }, { id: 6 }])
    const client = createClient({ url: `${base}/graphql/stream?from=earliest`, fetchFn: fetch, retryAttempts: 0 })
    const results: unknown[] = []
    let failure: unknown = null
    const dispose = client.subscribe(
      { query: 'subscription { employeeUpdated(id: 9) { id } }' },
      { next: (result) => void results.push(result), error: (error) => void (failure = error), complete: () => {} },
    )
    try {
      await expect.poll(() => results.length, { timeout: 5000, interval: 10 }).toBe(1)
      // 2 and 6 were withheld at the end of that batch: the stream sent their id-only frame.
      publish('employees.9', [{ id: 3 }])
      await expect.poll(() => results.length, { timeout: 5000, interval: 10 }).toBe(2)
    } finally {
      dispose()
      client.dispose()
    }
    expect(failure).toBeNull()
    expect(results).toEqual([{ data: { employeeUpdated: { id: 1 } } }, { data: { employeeUpdated: { id: 3 } } }])
  })

  it('refuses a filter naming an argument the field does not have, or sitting elsewhere than a Subscription field', () => {
    const start = (schema: string) => () => appWith(schema)
    expect(start(filteredSchema.replace('{{ args.input.tags }}', '{{ args.input.labels }}'))).toThrow(
      /^SCHEMA: Subscription\.taggedUpdates \(line \d+\): @openfed__subscriptionFilter: \{\{ args\.input\.labels \}\} refers to no field "labels" of input Tags$/,
    )
    expect(start(filteredSchema.replace('name: String tag', 'name: String @openfed__subscriptionFilter(condition: { IN: { fieldPath: "id", values: [1] } }) tag'))).toThrow(
      /^SCHEMA: @openfed__subscriptionFilter on Employee\.name \(line \d+\): a subscription filter belongs on a Subscription field$/,
    )
  })
})

const guardedSchema = /* GraphQL */ `
  type Query { ok: Boolean }
  type Employee { id: Int! salary: Int @requiresScopes(scopes: [["read:salary"]]) }
  type Subscription {
    employeeUpdated(id: Int!): Employee!
      @edfs__natsSubscribe(subjects: ["employees.{{ args.id }}"])
      @requiresScopes(scopes: [["read:employee", "read:events"], ["admin"]])
    openUpdates: Employee! @edfs__natsSubscribe(subjects: ["open"]) @authenticated
  }
`

describe('@authenticated and @requiresScopes in an SDL', () => {
  const key = new TextEncoder().encode(SECRET)
  const guarded = () => appWith(guardedSchema, { AUTH_SECRET: SECRET, AUTH_ISSUER: 'https://issuer.test/', AUTH_AUDIENCE: 'edge-stream' })
  const request = async (query: string, claims?: Record<string, unknown>) => {
    const { fetch } = guarded()
    const headers: Record<string, string> = claims ? { Authorization: `Bearer ${await signToken(key, { sub: 'u', ...claims })}` } : {}
    return fetch(streamUrl(base, query, { from: 'earliest' }), { headers })
  }
  const errorOf = async (response: Response) => {
    const body = await response.json()
    return { status: response.status, code: body.errors[0].extensions.code, message: body.errors[0].message }
  }

  it('lets a token with one full group of scopes through, from `scope` (string) or `scp` (list)', async () => {
    for (const claims of [{ scope: 'read:events openid read:employee' }, { scp: ['admin'] }, { scope: 'admin' }]) {
      const response = await request('subscription { employeeUpdated(id: 1) { id } }', claims)
      expect(response.status).toBe(200)
      await response.body?.cancel()
    }
  })

  it('refuses a token without the scopes with 403, naming the field and what is missing', async () => {
    expect(await errorOf(await request('subscription { employeeUpdated(id: 1) { id } }', { scope: 'read:employee' }))).toEqual({
      status: 403,
      code: 'FORBIDDEN',
      message: "Unauthorized to load field 'Subscription.employeeUpdated': the token lacks the scopes read:events (required: read:employee AND read:events, or admin; the token has: read:employee)",
    })
    // A nested field's requirement counts too, even through a fragment.
    expect(await errorOf(await request('subscription { employeeUpdated(id: 1) { ...E } } fragment E on Employee { salary }', { scp: ['admin'] }))).toMatchObject({
      status: 403,
      message: expect.stringContaining("'Employee.salary': the token lacks the scopes read:salary"),
    })
  })

  it('refuses a request without a token with 401 (auth is on), and passes @authenticated with any valid token', async () => {
    expect(await errorOf(await request('subscription { openUpdates { id } }'))).toMatchObject({ status: 401, code: 'UNAUTHENTICATED' })
    const response = await request('subscription { openUpdates { id } }', {})
    expect(response.status).toBe(200)
    await response.body?.cancel()
  })

  it('refuses the start when auth is off: no request could pass', () => {
    expect(() => appWith(guardedSchema)).toThrow(/^AUTH_JWKS_URL: Subscription\.employeeUpdated has @authenticated or @requiresScopes: set AUTH_JWKS_URL or AUTH_SECRET$/)
  })
})

describe('directives neither applied nor harmless', () => {
  const base = /* GraphQL */ `
    type Query { ok: Boolean }
    type Employee @key(fields: "id") { id: Int! @external name: String @deprecated(reason: "x") @tag(name: "t") details: Details }
    type Details { note: String }
    type Subscription {
      employeeUpdated(id: Int!): Employee! @edfs__natsSubscribe(subjects: ["employees.{{ args.id }}"])
    }
  `
  it('starts with the harmless ones', () => {
    expect(() => appWith(base)).not.toThrow()
  })

  it.each([
    ['on a subscription field', 'Employee! @edfs__natsSubscribe', 'Employee! @policy(policies: [["p"]]) @edfs__natsSubscribe', '@policy on Subscription.employeeUpdated'],
    ['on its argument', 'employeeUpdated(id: Int!)', 'employeeUpdated(id: Int! @rateLimit(max: 1))', '@rateLimit on Subscription.employeeUpdated(id:)'],
    ['on its return type', 'type Employee @key', 'type Employee @cacheControl(maxAge: 5) @key', '@cacheControl on type Employee'],
    ['on a field of a nested type', 'note: String', 'note: String @inaccessible', '@inaccessible on Details.note'],
  ])('refuses one %s, naming it and where it is', (_, from, to, where) => {
    let message = ''
    try {
      appWith(base.replace(from, to))
    } catch (error) {
      message = (error as Error).message
    }
    expect(message.split('\n')).toHaveLength(1)
    expect(message).toMatch(new RegExp(`^SCHEMA: ${where.replace(/[().]/g, '\\$&')} \\(line \\d+\\) is not applied by edge-stream`))
  })

  it('ignores directives on types no subscription reaches', () => {
    expect(() => appWith(`${base} type Other @policy(policies: [["p"]]) { x: Int }`)).not.toThrow()
  })
})
