/** The security variables are checked at start: a bad value stops it with a ConfigError naming the variable. */
import { describe, expect, it } from 'vitest'
import { readAuthConfig } from '../../../src/config/auth'
import { ConfigError, type Env } from '../../../src/config/env'
import { defaultLimits } from '../../../src/limits/limits'
import { readLimits } from '../../../src/config/limits'
import { createServerFromEnv } from '../../../src/setup'
import { authSchema } from '../../support/auth-schema'
import { testSchema } from '../../support/schemas'

const secret = 'x'.repeat(32)
const start = (env: Env) => createServerFromEnv({ SCHEMA: testSchema, NATS_DEFAULT_URL: 'memory:', LOG_LEVEL: 'silent', ...env })

function refusedVariable(env: Env): string {
  try {
    start(env)
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError)
    return (error as ConfigError).variable
  }
  throw new Error('expected a ConfigError')
}

describe('security configuration', () => {
  it.each<[string, Env, string]>([
    ['a JWKS URL that is not a URL', { AUTH_JWKS_URL: 'not a url' }, 'AUTH_JWKS_URL'],
    ['a JWKS URL over plain http to another host', { AUTH_JWKS_URL: 'http://idp.example.com/jwks' }, 'AUTH_JWKS_URL'],
    ['a short secret', { AUTH_SECRET: 'short' }, 'AUTH_SECRET'],
    ['both a JWKS URL and a secret', { AUTH_JWKS_URL: 'https://idp.test/jwks', AUTH_SECRET: secret }, 'AUTH_SECRET'],
    ['an HMAC algorithm with a JWKS', { AUTH_JWKS_URL: 'https://idp.test/jwks', AUTH_ALGORITHMS: 'RS256,HS256' }, 'AUTH_ALGORITHMS'],
    ['an asymmetric algorithm with a secret', { AUTH_SECRET: secret, AUTH_ALGORITHMS: 'RS256' }, 'AUTH_ALGORITHMS'],
    ['an unknown algorithm', { AUTH_SECRET: secret, AUTH_ALGORITHMS: 'none' }, 'AUTH_ALGORITHMS'],
    ['a cookie name with a space', { AUTH_SECRET: secret, AUTH_COOKIE: 'my cookie' }, 'AUTH_COOKIE'],
    ['AUTH_QUERY_TOKEN not a boolean', { AUTH_SECRET: secret, AUTH_QUERY_TOKEN: 'yes' }, 'AUTH_QUERY_TOKEN'],
    ['a negative clock tolerance', { AUTH_SECRET: secret, AUTH_CLOCK_TOLERANCE_SECONDS: '-1' }, 'AUTH_CLOCK_TOLERANCE_SECONDS'],
    ['a JWKS cache age of zero', { AUTH_JWKS_URL: 'https://idp.test/jwks', AUTH_JWKS_CACHE_SECONDS: '0' }, 'AUTH_JWKS_CACHE_SECONDS'],
    ['a JWKS option with a secret', { AUTH_SECRET: secret, AUTH_JWKS_MIN_REFRESH_SECONDS: '5' }, 'AUTH_JWKS_MIN_REFRESH_SECONDS'],
    ['an auth option without a key source (fails closed)', { AUTH_AUDIENCE: 'api' }, 'AUTH_AUDIENCE'],
    ['a CORS origin with a path', { CORS_ORIGINS: 'https://app.test/page' }, 'CORS_ORIGINS'],
    ['credentials with any origin', { CORS_ORIGINS: '*', CORS_CREDENTIALS: 'true' }, 'CORS_CREDENTIALS'],
    ['credentials without origins', { CORS_CREDENTIALS: 'true' }, 'CORS_CREDENTIALS'],
    ['a query limit of zero', { MAX_QUERY_BYTES: '0' }, 'MAX_QUERY_BYTES'],
    ['a query limit past the parser-safe bound', { MAX_QUERY_BYTES: '1000000' }, 'MAX_QUERY_BYTES'],
    ['a depth that is not a number', { MAX_QUERY_DEPTH: 'deep' }, 'MAX_QUERY_DEPTH'],
    ['a URL limit below 256', { MAX_URL_LENGTH: '100' }, 'MAX_URL_LENGTH'],
  ])('refuses %s', (_name, env, variable) => {
    expect(refusedVariable(env)).toBe(variable)
  })

  it('refuses a schema with {{ claims.… }} when auth is off', () => {
    expect(refusedVariable({ SCHEMA: authSchema })).toBe('AUTH_JWKS_URL')
    expect(() => start({ SCHEMA: authSchema, AUTH_SECRET: secret })).not.toThrow()
  })

  it('leaves auth off by default, and reads every option when it is on', () => {
    expect(readAuthConfig({})).toBeUndefined()
    expect(readAuthConfig({ AUTH_TOKEN: 'unrelated variable of another program' })).toBeUndefined()
    expect(
      readAuthConfig({
        AUTH_JWKS_URL: 'https://idp.test/.well-known/jwks.json',
        AUTH_ISSUER: 'https://idp.test/',
        AUTH_AUDIENCE: 'a, b',
        AUTH_COOKIE: '__Host-token',
        AUTH_QUERY_TOKEN: 'false',
        AUTH_ALGORITHMS: 'ES256',
        AUTH_CLOCK_TOLERANCE_SECONDS: '5',
        AUTH_JWKS_CACHE_SECONDS: '60',
        AUTH_JWKS_MIN_REFRESH_SECONDS: '0',
      }),
    ).toEqual({
      keys: { jwksUrl: 'https://idp.test/.well-known/jwks.json', cacheMs: 60_000, minRefreshMs: 0 },
      algorithms: ['ES256'],
      issuer: 'https://idp.test/',
      audiences: ['a', 'b'],
      cookie: '__Host-token',
      queryToken: false,
      clockToleranceSeconds: 5,
    })
    expect(readAuthConfig({ AUTH_SECRET: secret })).toMatchObject({ keys: { secret }, algorithms: ['HS256'], queryToken: true, clockToleranceSeconds: 30 })
    expect(readAuthConfig({ AUTH_JWKS_URL: 'http://127.0.0.1:9999/jwks' })?.algorithms).toContain('EdDSA')
  })

  it('has sane default limits and reads each one', () => {
    expect(readLimits({})).toEqual(defaultLimits)
    expect(
      readLimits({ MAX_URL_LENGTH: '4096', MAX_QUERY_BYTES: '2048', MAX_VARIABLES_BYTES: '512', MAX_QUERY_DEPTH: '5', MAX_QUERY_FIELDS: '50', MAX_QUERY_ALIASES: '0' }),
    ).toEqual({ maxUrlLength: 4096, maxQueryBytes: 2048, maxVariablesBytes: 512, maxDepth: 5, maxFields: 50, maxAliases: 0 })
  })
})
