/**
 * The end-to-end proof that one user cannot read another's events: the Node entry over HTTP,
 * a real nats-server, a JWKS served locally, subjects `u.{{ claims.sub }}.{{ args.topic }}`.
 * Alice tries every argument, cursor, header and token trick; none of them yields one of Bob's events.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { authSchema, notesQuery } from '../support/auth-schema'
import { connectJetStream, type JetStreamAdmin } from '../support/jetstream'
import { AUDIENCE, ISSUER, signingKey, signToken, startJwksServer, unsignedToken, type JwksServer, type SigningKey } from '../support/jwks-server'
import { openSse, type SseConnection } from '../support/sse-client'
import { startTarget, type Target } from '../support/targets'
import { uniqueName } from '../support/random'

const alice = uniqueName('alice')
const bob = uniqueName('bob')

let admin: JetStreamAdmin
let target: Target
let jwks: JwksServer
let key: SigningKey
let aliceToken: string
let bobToken: string

beforeAll(async () => {
  key = await signingKey('idp-1', 'ES256')
  jwks = await startJwksServer([key])
  admin = await connectJetStream(inject('natsWsUrl'))
  await admin.createStream({ name: uniqueName('ISOLATION'), subjects: [`u.${alice}.>`, `u.${bob}.>`] })
  await admin.publish(`u.${bob}.inbox`, [1, 2, 3, 4, 5].map((n) => ({ n, owner: 'bob' })))
  await admin.publish(`u.${alice}.inbox`, [1, 2, 3].map((n) => ({ n, owner: 'alice' })))
  await admin.publish(`u.${bob}.secrets`, [{ n: 99, owner: 'bob' }])
  target = await startTarget('node', {
    SCHEMA: authSchema,
    NATS_DEFAULT_URL: inject('natsWsUrl'),
    AUTH_JWKS_URL: jwks.url,
    AUTH_ISSUER: ISSUER,
    AUTH_AUDIENCE: AUDIENCE,
    AUTH_COOKIE: 'session',
    CURSOR_KEYS: 'k1:isolation-test-cursor-key',
  })
  aliceToken = await signToken(key, { sub: alice })
  bobToken = await signToken(key, { sub: bob })
})

afterAll(async () => {
  await target?.close()
  await admin?.close()
  await jwks?.close()
})

const url = (params: Record<string, string>) => `${target.baseUrl}/graphql/stream?${new URLSearchParams(params)}`

/** Every event that arrives within `ms`, then the connection is cut. */
async function eventsWithin(connection: SseConnection, ms: number): Promise<{ owner?: string; n?: number }[]> {
  const seen: { owner?: string; n?: number }[] = []
  const deadline = Date.now() + ms
  while (Date.now() < deadline) {
    const event = await Promise.race([connection.next(), new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), deadline - Date.now()))])
    if (event === 'timeout' || event === undefined) break
    if (event.event === 'next') seen.push(JSON.parse(event.data).data?.notes ?? {})
  }
  connection.cut()
  return seen
}

interface Attempt {
  name: string
  url: string
  init?: RequestInit
}

describe('per-user subjects', () => {
  it('Bob reads his own events, and his cursors are what Alice will try to use', async () => {
    const bobs = await openSse(url({ query: notesQuery('inbox'), from: 'earliest' }), { headers: { Authorization: `Bearer ${bobToken}` } })
    const events = await eventsWithin(bobs, 1000)
    expect(events.map((e) => e.owner)).toEqual(['bob', 'bob', 'bob', 'bob', 'bob'])
  })

  it('Alice sees only her own events, whatever argument, cursor, header or token she sends', async () => {
    const bobsCursor = await firstCursor({ Authorization: `Bearer ${bobToken}` })
    const asAlice = { Authorization: `Bearer ${aliceToken}` }
    const [header, payload, signature] = aliceToken.split('.') as [string, string, string]
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString())
    const aliceAsBob = `${header}.${Buffer.from(JSON.stringify({ ...claims, sub: bob })).toString('base64url')}.${signature}`
    const rogueKey = await signingKey('idp-1', 'ES256')
    const earliest = (query: string, extra: Record<string, string> = {}) => url({ query, from: 'earliest', ...extra })
    const post = (body: unknown, headers: Record<string, string> = asAlice): RequestInit => ({
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
    })

    const attempts: Attempt[] = [
      // Arguments: another topic stays in her namespace; wildcards and separators are refused.
      ...['inbox', 'secrets', '*', '>', `${bob}.inbox`, 'inbox.>', '', ' inbox', 'in\u0000box', '..', `${bob}`].map((topic) => ({
        name: `topic ${JSON.stringify(topic)}`,
        url: earliest(notesQuery(topic)),
        init: { headers: asAlice },
      })),
      { name: 'variables with a wildcard', url: earliest('subscription($t: String!) { notes(topic: $t) { n owner } }', { variables: JSON.stringify({ t: '>' }) }), init: { headers: asAlice } },
      { name: 'claims smuggled in variables and extensions', url: earliest(notesQuery('inbox'), { variables: JSON.stringify({ claims: { sub: bob } }), extensions: JSON.stringify({ claims: { sub: bob } }) }), init: { headers: asAlice } },
      { name: 'claims in a POST body', url: url({ from: 'earliest' }), init: post({ query: notesQuery('inbox'), claims: { sub: bob }, sub: bob }) },
      // Cursors: Bob's, through the header and the query parameter, and altered.
      { name: "Bob's cursor as Last-Event-ID", url: url({ query: notesQuery('inbox') }), init: { headers: { ...asAlice, 'Last-Event-ID': bobsCursor } } },
      { name: "Bob's cursor as ?lastEventId=", url: url({ query: notesQuery('inbox'), lastEventId: bobsCursor }), init: { headers: asAlice } },
      { name: "Bob's cursor, position rewound", url: url({ query: notesQuery('inbox') }), init: { headers: { ...asAlice, 'Last-Event-ID': bobsCursor.replace(/^(1\.[^.]+\.)\d+/, '$10') } } },
      { name: "Bob's cursor, unsigned", url: url({ query: notesQuery('inbox') }), init: { headers: { ...asAlice, 'Last-Event-ID': bobsCursor.split('.').slice(0, 3).join('.') } } },
      // Headers a proxy might trust: ignored.
      ...['X-Forwarded-User', 'X-User', 'X-Auth-Request-User', 'X-Remote-User', 'X-Subject'].map((name) => ({
        name: `header ${name}: bob`,
        url: earliest(notesQuery('inbox')),
        init: { headers: { ...asAlice, [name]: bob } },
      })),
      // Tokens: forged, unsigned, foreign key; several at once (the Authorization header wins).
      { name: 'her token with sub changed to Bob', url: earliest(notesQuery('inbox')), init: { headers: { Authorization: `Bearer ${aliceAsBob}` } } },
      { name: 'an unsigned token for Bob', url: earliest(notesQuery('inbox'), { access_token: unsignedToken({ sub: bob }) }) },
      { name: 'a token for Bob signed by another key', url: earliest(notesQuery('inbox'), { access_token: await signToken(rogueKey, { sub: bob }) }) },
      { name: 'a forged cookie for Bob next to her header', url: earliest(notesQuery('inbox')), init: { headers: { ...asAlice, Cookie: `session=${aliceAsBob}` } } },
      { name: 'a forged access_token for Bob next to her header', url: earliest(notesQuery('inbox'), { access_token: aliceAsBob }), init: { headers: asAlice } },
      { name: 'two Authorization values', url: earliest(notesQuery('inbox')), init: { headers: [['Authorization', `Bearer ${aliceToken}`], ['Authorization', `Bearer ${aliceAsBob}`]] } },
    ]

    const outcomes: string[] = []
    for (const attempt of attempts) {
      const connection = await openSse(attempt.url, attempt.init)
      if (connection.status !== 200) {
        expect(connection.status, attempt.name).toBeGreaterThanOrEqual(400)
        expect(connection.status, attempt.name).toBeLessThan(500)
        connection.cut()
        outcomes.push(`${attempt.name}: ${connection.status}`)
        continue
      }
      const events = await eventsWithin(connection, 300)
      expect(events.filter((event) => event.owner !== 'alice'), attempt.name).toEqual([])
      outcomes.push(`${attempt.name}: 200 with ${events.length} of her events`)
    }
    // The plain request is served, and shows exactly her three events.
    expect(outcomes).toContain('topic "inbox": 200 with 3 of her events')
    expect(outcomes.filter((line) => line.endsWith(': 401'))).toHaveLength(4)
  })

  it('Bob can still resume from his own cursor, so the refusals above were about Alice', async () => {
    const cursor = await firstCursor({ Authorization: `Bearer ${bobToken}` })
    const resumed = await openSse(url({ query: notesQuery('inbox') }), { headers: { Authorization: `Bearer ${bobToken}`, 'Last-Event-ID': cursor } })
    expect((await eventsWithin(resumed, 1000)).map((e) => e.n)).toEqual([2, 3, 4, 5])
  })
})

async function firstCursor(headers: Record<string, string>): Promise<string> {
  const connection = await openSse(url({ query: notesQuery('inbox'), from: 'earliest' }), { headers })
  let event = await connection.next()
  while (event && event.event !== 'next') event = await connection.next()
  connection.cut()
  return event!.id!
}
