/**
 * JWT authentication end to end: a JWKS served by a local server, real tokens signed with jose,
 * the three ways a token travels, every way a token can be wrong, key rotation and caching.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Env } from '../../src/config/env'
import { createServerFromEnv } from '../../src/setup'
import { authSchema, notesQuery } from '../support/auth-schema'
import { AUDIENCE, ISSUER, signingKey, signToken, startJwksServer, unsignedToken, type JwksServer, type SigningKey } from '../support/jwks-server'
import { openSse, readNextEvents } from '../support/sse-client'

const base = 'http://app.test'
const query = notesQuery('inbox')
const path = (params: Record<string, string> = {}) => `/graphql/stream?${new URLSearchParams({ query, ...params })}`

let rsa: SigningKey
let ec: SigningKey
let jwks: JwksServer

beforeAll(async () => {
  rsa = await signingKey('rsa-1', 'RS256')
  ec = await signingKey('ec-1', 'ES256')
  jwks = await startJwksServer([rsa, ec])
})
afterAll(() => jwks?.close())

function authApp(env: Env = {}) {
  const lines: string[] = []
  const server = createServerFromEnv(
    {
      SCHEMA: authSchema,
      NATS_DEFAULT_URL: 'memory:',
      LOG_LEVEL: 'debug',
      AUTH_JWKS_URL: jwks.url,
      AUTH_ISSUER: ISSUER,
      AUTH_AUDIENCE: AUDIENCE,
      AUTH_COOKIE: 'session',
      ...env,
    },
    { log: (line) => lines.push(line) },
  )
  const fetch = (url: string, init?: RequestInit) => server.app.fetch(new Request(new URL(url, base), init))
  return { app: server.app, broker: server.memoryBroker!, lines, fetch }
}

/** A 401 in the error shape of the protocol, which shows neither the token nor its signature. */
async function refusal(response: Response, token?: string): Promise<string> {
  if (response.status !== 401) await response.body?.cancel()
  expect(response.status).toBe(401)
  const text = await response.text()
  expect(response.headers.get('content-type')).toMatch(/application\/json/)
  expect(response.headers.get('www-authenticate')).toMatch(/^Bearer realm="edge-stream"/)
  const body = JSON.parse(text)
  expect(body.errors[0].extensions.code).toBe('UNAUTHENTICATED')
  if (token) {
    const signature = token.split('.')[2] || token
    for (const shown of [text, ...[...response.headers.values()]]) {
      expect(shown).not.toContain(token)
      if (signature.length > 8) expect(shown).not.toContain(signature)
    }
  }
  return body.errors[0].message
}

async function accepted(response: Response): Promise<void> {
  expect(response.status).toBe(200)
  expect(response.headers.get('content-type')).toBe('text/event-stream; charset=utf-8')
  await response.body?.cancel()
}

describe('where the token comes from', () => {
  it('reads it from Authorization: Bearer, from the configured cookie and from ?access_token=', async () => {
    const { app } = authApp()
    const token = await signToken(rsa, { sub: 'alice' })
    await accepted(await app.request(path(), { headers: { Authorization: `Bearer ${token}` } }))
    await accepted(await app.request(path(), { headers: { Cookie: `theme=dark; session=${token}` } }))
    await accepted(await app.request(path({ access_token: token })))
  })

  it('refuses ?access_token= when AUTH_QUERY_TOKEN=false, and a cookie of another name', async () => {
    const { app } = authApp({ AUTH_QUERY_TOKEN: 'false' })
    const token = await signToken(rsa, { sub: 'alice' })
    expect(await refusal(await app.request(path({ access_token: token })), token)).toMatch(/Authentication required/)
    expect(await refusal(await app.request(path(), { headers: { Cookie: `other=${token}` } }), token)).toMatch(/Authentication required/)
  })

  it('says how to send a token when none came, with no error code in the challenge (RFC 6750)', async () => {
    const response = await authApp().app.request(path())
    expect(response.headers.get('www-authenticate')).toBe('Bearer realm="edge-stream"')
    expect(await refusal(response)).toBe(
      'Authentication required: send a token as Authorization: Bearer, in the session cookie or as the access_token query parameter',
    )
  })

  it('never writes a token into the logs', async () => {
    const { app, lines } = authApp()
    const good = await signToken(rsa, { sub: 'alice' })
    const expired = await signToken(rsa, { sub: 'alice' }, { expiresIn: -3600 })
    await accepted(await app.request(path({ access_token: good })))
    await refusal(await app.request(path({ access_token: expired })), expired)
    expect(lines.length).toBeGreaterThan(1)
    for (const token of [good, expired]) expect(lines.join('\n')).not.toContain(token.split('.')[2])
  })
})

describe('tokens that are refused with 401', () => {
  const otherKeyWithSameKid = signingKey('rsa-1', 'RS256')
  const cases: [string, () => Promise<string>, RegExp][] = [
    ['expired (beyond the clock tolerance)', () => signToken(rsa, { sub: 'alice' }, { expiresIn: -120 }), /expired/],
    ['not valid yet', () => signToken(rsa, { sub: 'alice' }, { notBefore: 120 }), /not valid yet/],
    ['without an expiry', () => signToken(rsa, { sub: 'alice' }, { expiresIn: null }), /no expiry/],
    ['for another audience', () => signToken(rsa, { sub: 'alice' }, { audience: 'another-api' }), /audience/],
    ['from another issuer', () => signToken(rsa, { sub: 'alice' }, { issuer: 'https://evil.test/' }), /issuer/],
    ['signed by another key under a known kid', async () => signToken(await otherKeyWithSameKid, { sub: 'alice' }), /signature is invalid/],
    ['signed by an unknown key', async () => signToken(await signingKey('rogue', 'RS256'), { sub: 'alice' }), /unknown key/],
    ['with no kid', () => signToken(rsa, { sub: 'alice' }, { header: { kid: undefined } }), /no signing key/],
    ['unsigned (alg: none)', async () => unsignedToken({ sub: 'alice' }), /not a signed JWT|algorithm/],
    ['with a critical header extension', () => signToken(rsa, { sub: 'alice' }, { header: { crit: ['b64'], b64: true } }), /header/],
    ['whose ES256 header names the RSA key', () => signToken(ec, { sub: 'alice' }, { header: { kid: 'rsa-1' } }), /algorithm|key cannot/],
    ['HS256 signed with the public key (algorithm confusion)', () => signToken(new TextEncoder().encode(JSON.stringify(rsa.publicJwk)), { sub: 'alice' }, { header: { kid: 'rsa-1' } }), /algorithm/],
    ['not a JWT at all', async () => 'not-a-token', /not a signed JWT/],
    ['with a payload that is not JSON', async () => `eyJhbGciOiJSUzI1NiIsImtpZCI6InJzYS0xIn0.${btoa('{nope').replace(/=/g, '')}.c2ln`, /not a signed JWT|not a valid/],
  ]

  it.each(cases)('%s', async (_name, make, message) => {
    const { app } = authApp()
    const token = await make()
    expect(await refusal(await app.request(path(), { headers: { Authorization: `Bearer ${token}` } }), token)).toMatch(message)
    expect(await refusal(await app.request(path({ access_token: token })), token)).toMatch(message)
  })

  it('whose payload was changed after signing (another sub)', async () => {
    const token = await signToken(rsa, { sub: 'alice' })
    const [header, payload, signature] = token.split('.') as [string, string, string]
    const claims = JSON.parse(atob(payload.replace(/-/g, '+').replace(/_/g, '/')))
    const forged = `${header}.${btoa(JSON.stringify({ ...claims, sub: 'bob' })).replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_')}.${signature}`
    expect(await refusal(await authApp().app.request(path(), { headers: { Authorization: `Bearer ${forged}` } }), forged)).toMatch(/signature is invalid/)
  })

  it('too long to be a JWT', async () => {
    const token = `${'a'.repeat(20_000)}.b.c`
    expect(await refusal(await authApp().app.request(path(), { headers: { Authorization: `Bearer ${token}` } }), token)).toMatch(/not a signed JWT/)
  })

  it('sent with another scheme than Bearer', async () => {
    const response = await authApp().app.request(path(), { headers: { Authorization: 'Basic YWxpY2U6c2VjcmV0' } })
    expect(await refusal(response, 'YWxpY2U6c2VjcmV0')).toMatch(/Bearer/)
  })

  it('in an algorithm outside AUTH_ALGORITHMS', async () => {
    const { app } = authApp({ AUTH_ALGORITHMS: 'RS256' })
    const token = await signToken(ec, { sub: 'alice' })
    expect(await refusal(await app.request(path({ access_token: token })), token)).toMatch(/algorithm is not accepted; expected RS256/)
    await accepted(await app.request(path({ access_token: await signToken(rsa, { sub: 'alice' }) })))
  })

  it('but accepts expiry and not-before within the clock tolerance, and an audience among several', async () => {
    const { app } = authApp({ AUTH_CLOCK_TOLERANCE_SECONDS: '30', AUTH_AUDIENCE: `other, ${AUDIENCE}` })
    for (const options of [{ expiresIn: -10 }, { notBefore: 10 }, { audience: ['x', AUDIENCE] }]) {
      await accepted(await app.request(path({ access_token: await signToken(rsa, { sub: 'alice' }, options) })))
    }
  })
})

describe('claims in subject templates', () => {
  it('gives each user only their own subject', async () => {
    const { broker, fetch } = authApp()
    broker.publish('u.alice.inbox', JSON.stringify({ n: 1, owner: 'alice' }))
    broker.publish('u.bob.inbox', JSON.stringify({ n: 2, owner: 'bob' }))
    broker.publish('u.alice.inbox', JSON.stringify({ n: 3, owner: 'alice' }))
    const token = await signToken(ec, { sub: 'alice' })
    const connection = await openSse(`${base}${path({ from: 'earliest', access_token: token })}`, {}, fetch)
    const events = await readNextEvents(connection, 2)
    connection.cut()
    expect(events.map((e) => JSON.parse(e.data).data.notes)).toEqual([
      { n: 1, owner: 'alice' },
      { n: 3, owner: 'alice' },
    ])
  })

  it('refuses a token without the claim (403) and a claim that would widen the subject (400)', async () => {
    const { app } = authApp()
    const noSub = await signToken(rsa, { name: 'alice' })
    const response = await app.request(path({ access_token: noSub }))
    expect(response.status).toBe(403)
    expect((await response.json()).errors[0].extensions.code).toBe('FORBIDDEN')
    for (const sub of ['*', '>', 'bob.inbox', 'a b', '']) {
      const token = await signToken(rsa, { sub })
      const refused = await app.request(path({ access_token: token }))
      expect([400, 403]).toContain(refused.status)
      expect((await refused.json()).errors[0].extensions.code).toMatch(/INVALID_ARGUMENT|FORBIDDEN/)
    }
  })

  it('ends the stream when the token expires, without complete, so the reconnect must authenticate again', async () => {
    const { fetch } = authApp({ AUTH_CLOCK_TOLERANCE_SECONDS: '0' })
    const token = await signToken(rsa, { sub: 'alice' }, { expiresIn: 2 })
    const started = Date.now()
    const connection = await openSse(`${base}${path({ access_token: token })}`, {}, fetch)
    expect(connection.status).toBe(200)
    expect(await connection.next()).toBeUndefined()
    expect(Date.now() - started).toBeLessThan(3500)
    expect(connection.raw()).not.toContain('complete')
  })
})

describe('the JWKS', () => {
  it('is fetched once and cached', async () => {
    const server = await startJwksServer([rsa])
    try {
      const { app } = authApp({ AUTH_JWKS_URL: server.url })
      for (let i = 0; i < 10; i++) await accepted(await app.request(path({ access_token: await signToken(rsa, { sub: `u${i}` }) })))
      expect(server.fetches()).toBe(1)
    } finally {
      await server.close()
    }
  })

  it('is fetched again for a new kid after a rotation, at most once per AUTH_JWKS_MIN_REFRESH_SECONDS, and after AUTH_JWKS_CACHE_SECONDS', async () => {
    const server = await startJwksServer([rsa])
    try {
      const next = await signingKey('rsa-2', 'RS256')
      const { app } = authApp({ AUTH_JWKS_URL: server.url, AUTH_JWKS_MIN_REFRESH_SECONDS: '1', AUTH_JWKS_CACHE_SECONDS: '1' })
      await accepted(await app.request(path({ access_token: await signToken(rsa, { sub: 'alice' }) })))
      server.setKeys([next, rsa])
      // Within the minimum interval the new kid is unknown, and no amount of requests fetches again.
      for (let i = 0; i < 5; i++) await refusal(await app.request(path({ access_token: await signToken(next, { sub: 'alice' }) })))
      expect(server.fetches()).toBe(1)
      await new Promise((resolve) => setTimeout(resolve, 1100))
      await accepted(await app.request(path({ access_token: await signToken(next, { sub: 'alice' }) })))
      expect(server.fetches()).toBe(2)
      // The old key is still listed: its tokens stay valid until the provider drops it and the cache expires.
      await accepted(await app.request(path({ access_token: await signToken(rsa, { sub: 'alice' }) })))
      server.setKeys([next])
      await new Promise((resolve) => setTimeout(resolve, 1100))
      expect(await refusal(await app.request(path({ access_token: await signToken(rsa, { sub: 'alice' }) })))).toMatch(/unknown key|signature/)
    } finally {
      await server.close()
    }
  })

  it('keeps the last keys while the identity provider is down', async () => {
    const server = await startJwksServer([rsa])
    try {
      const { app } = authApp({ AUTH_JWKS_URL: server.url, AUTH_JWKS_CACHE_SECONDS: '0.05', AUTH_JWKS_MIN_REFRESH_SECONDS: '0' })
      await accepted(await app.request(path({ access_token: await signToken(rsa, { sub: 'alice' }) })))
      server.failWith(503)
      await new Promise((resolve) => setTimeout(resolve, 100))
      await accepted(await app.request(path({ access_token: await signToken(rsa, { sub: 'alice' }) })))
      expect(server.fetches()).toBe(2)
    } finally {
      await server.close()
    }
  })

  it('unreachable before any key was fetched: EventSource is told to retry, as for a broker outage', async () => {
    const server = await startJwksServer([rsa])
    server.failWith(500)
    try {
      const { app, lines } = authApp({ AUTH_JWKS_URL: server.url, RETRY_MS: '1000' })
      const response = await app.request(path({ access_token: await signToken(rsa, { sub: 'alice' }) }))
      expect(response.status).toBe(200)
      expect(response.headers.get('content-type')).toBe('text/event-stream; charset=utf-8')
      const text = await response.text()
      expect(text).toMatch(/^retry: (1\d{3}|2000)\nevent: error\ndata: /)
      expect(text).not.toMatch(/^id:/m)
      expect(JSON.parse(text.split('data: ')[1]!)).toEqual({
        errors: [{ message: 'The identity provider is unavailable; retrying.', extensions: { code: 'UPSTREAM_UNAVAILABLE' } }],
      })
      expect(lines.some((line) => line.includes('auth.jwks_unavailable'))).toBe(true)
    } finally {
      await server.close()
    }
  })
})

describe('a shared secret (AUTH_SECRET)', () => {
  const secret = 'a-test-secret-of-at-least-32-characters!'
  const app = () => authApp({ AUTH_JWKS_URL: '', AUTH_SECRET: secret }).app

  it('accepts HS256 tokens signed with it', async () => {
    await accepted(await app().request(path({ access_token: await signToken(new TextEncoder().encode(secret), { sub: 'alice' }) })))
  })

  it('refuses another secret, an asymmetric token and an HS512 token unless AUTH_ALGORITHMS allows it', async () => {
    const wrong = await signToken(new TextEncoder().encode(`${secret}-not`), { sub: 'alice' })
    expect(await refusal(await app().request(path({ access_token: wrong })), wrong)).toMatch(/signature is invalid/)
    const rs = await signToken(rsa, { sub: 'alice' })
    expect(await refusal(await app().request(path({ access_token: rs })), rs)).toMatch(/algorithm is not accepted/)
    const hs512 = await signToken(new TextEncoder().encode(secret), { sub: 'alice' }, { header: { alg: 'HS512' } })
    expect(await refusal(await app().request(path({ access_token: hs512 })), hs512)).toMatch(/algorithm is not accepted/)
    const withHs512 = authApp({ AUTH_JWKS_URL: '', AUTH_SECRET: secret, AUTH_ALGORITHMS: 'HS256,HS512' }).app
    await accepted(await withHs512.request(path({ access_token: hs512 })))
  })
})
