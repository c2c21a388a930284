/** Authentication inside workerd (the Workers runtime): WebCrypto verification and the JWKS cache across requests. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { authSchema, notesQuery } from '../support/auth-schema'
import { AUDIENCE, ISSUER, signingKey, signToken, startJwksServer, type JwksServer, type SigningKey } from '../support/jwks-server'
import { startTarget, type Target } from '../support/targets'

let jwks: JwksServer
let key: SigningKey
let target: Target

beforeAll(async () => {
  key = await signingKey('edge-1', 'ES256')
  jwks = await startJwksServer([key])
  target = await startTarget('workerd', {
    SCHEMA: authSchema,
    NATS_DEFAULT_URL: 'memory:',
    AUTH_JWKS_URL: jwks.url,
    AUTH_ISSUER: ISSUER,
    AUTH_AUDIENCE: AUDIENCE,
  })
})
afterAll(async () => {
  await target?.close()
  await jwks?.close()
})

const url = (token: string) => `${target.baseUrl}/graphql/stream?${new URLSearchParams({ query: notesQuery('inbox'), access_token: token })}`

describe('auth on Workers', () => {
  it('accepts valid tokens, fetching the JWKS once for the isolate, and refuses forged ones with 401', async () => {
    for (let i = 0; i < 3; i++) {
      const response = await fetch(url(await signToken(key, { sub: `user${i}` })))
      expect(response.status).toBe(200)
      expect(response.headers.get('content-type')).toBe('text/event-stream; charset=utf-8')
      await response.body?.cancel()
    }
    expect(jwks.fetches()).toBe(1)
    const forged = await signToken(await signingKey('edge-1', 'ES256'), { sub: 'user0' })
    const refused = await fetch(url(forged))
    expect(refused.status).toBe(401)
    expect(await refused.json()).toEqual({ errors: [{ message: "The token's signature is invalid", extensions: { code: 'UNAUTHENTICATED' } }] })
  })
})
