/**
 * `AUTH_*`: JWT authentication of the stream route, off unless a JWKS URL or a secret is set.
 */
import type { AuthConfig, KeySource, SignatureAlgorithm } from '../auth/auth-config'
import { boolean, ConfigError, integer, list, seconds, type Env } from './env'

const ASYMMETRIC = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'] as const
const SYMMETRIC = ['HS256', 'HS384', 'HS512'] as const
const COOKIE_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/
const MIN_SECRET_LENGTH = 32
const OPTIONS = [
  'AUTH_ALGORITHMS',
  'AUTH_ISSUER',
  'AUTH_AUDIENCE',
  'AUTH_COOKIE',
  'AUTH_QUERY_TOKEN',
  'AUTH_CLOCK_TOLERANCE_SECONDS',
  'AUTH_JWKS_CACHE_SECONDS',
  'AUTH_JWKS_MIN_REFRESH_SECONDS',
]

/**
 * `AUTH_JWKS_URL` or `AUTH_SECRET` turns auth on. Any other `AUTH_*` variable without one of
 * them is a start error, so a half-configured deployment never runs unauthenticated.
 */
export function readAuthConfig(env: Env): AuthConfig | undefined {
  const jwksUrl = env.AUTH_JWKS_URL
  const secret = env.AUTH_SECRET
  if (!jwksUrl && !secret) {
    const stray = OPTIONS.find((name) => env[name])
    if (stray) throw new ConfigError(stray, 'has no effect without AUTH_JWKS_URL or AUTH_SECRET, which turn authentication on')
    return undefined
  }
  if (jwksUrl && secret) throw new ConfigError('AUTH_SECRET', 'set AUTH_JWKS_URL or AUTH_SECRET, not both')
  const config: AuthConfig = {
    keys: jwksUrl ? jwksSource(env, jwksUrl) : secretSource(env, secret!),
    algorithms: algorithms(env, jwksUrl ? ASYMMETRIC : SYMMETRIC, jwksUrl ? [...ASYMMETRIC] : ['HS256']),
    queryToken: boolean(env, 'AUTH_QUERY_TOKEN', true),
    clockToleranceSeconds: integer(env, 'AUTH_CLOCK_TOLERANCE_SECONDS', 30, 0, 600),
  }
  if (env.AUTH_ISSUER) config.issuer = env.AUTH_ISSUER
  const audiences = list(env.AUTH_AUDIENCE)
  if (audiences.length > 0) config.audiences = audiences
  if (env.AUTH_COOKIE) {
    if (!COOKIE_NAME.test(env.AUTH_COOKIE)) throw new ConfigError('AUTH_COOKIE', `"${env.AUTH_COOKIE}" is not a valid cookie name`)
    config.cookie = env.AUTH_COOKIE
  }
  return config
}

function jwksSource(env: Env, url: string): KeySource {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    throw new ConfigError('AUTH_JWKS_URL', `"${url}" is not a URL`)
  }
  // Keys fetched in clear text could be swapped on the way; plain http only for a local identity provider.
  const loopback = ['127.0.0.1', 'localhost', '[::1]'].includes(parsed.hostname)
  if (parsed.protocol !== 'https:' && !(parsed.protocol === 'http:' && loopback)) {
    throw new ConfigError('AUTH_JWKS_URL', 'must be an https:// URL (http:// only on localhost)')
  }
  return {
    jwksUrl: url,
    cacheMs: seconds(env, 'AUTH_JWKS_CACHE_SECONDS', 600),
    minRefreshMs: integer(env, 'AUTH_JWKS_MIN_REFRESH_SECONDS', 30, 0, 3600) * 1000,
  }
}

function secretSource(env: Env, secret: string): KeySource {
  const jwksOnly = ['AUTH_JWKS_CACHE_SECONDS', 'AUTH_JWKS_MIN_REFRESH_SECONDS'].find((name) => env[name])
  if (jwksOnly) throw new ConfigError(jwksOnly, 'applies to AUTH_JWKS_URL, not to AUTH_SECRET')
  if (secret.length < MIN_SECRET_LENGTH) {
    throw new ConfigError('AUTH_SECRET', `must be at least ${MIN_SECRET_LENGTH} characters (HMAC keys shorter than the hash are guessable)`)
  }
  return { secret }
}

function algorithms(env: Env, allowed: readonly SignatureAlgorithm[], fallback: SignatureAlgorithm[]): SignatureAlgorithm[] {
  const names = list(env.AUTH_ALGORITHMS)
  if (names.length === 0) return fallback
  for (const name of names) {
    if (!(allowed as readonly string[]).includes(name)) {
      const mode = env.AUTH_JWKS_URL ? 'a JWKS (asymmetric keys)' : 'AUTH_SECRET (HMAC)'
      throw new ConfigError('AUTH_ALGORITHMS', `"${name}" cannot be used with ${mode}; choose from ${allowed.join(', ')}`)
    }
  }
  return names as SignatureAlgorithm[]
}
