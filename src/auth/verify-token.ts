import { decode, verify, verifyWithJwks } from 'hono/jwt'
import type { AuthConfig, SignatureAlgorithm } from './auth-config'
import { JwksCache, KeysUnavailableError, type JwksCacheOptions } from './jwks-cache'

/** A verified token: its claims, and until when (ms since the epoch) it may be used. */
export interface Identity {
  claims: Record<string, unknown>
  validUntilMs: number
}

/** A token refused; the message is safe to show and never contains the token. */
export class UnauthenticatedError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'UnauthenticatedError'
  }
}

export type VerifyToken = (token: string) => Promise<Identity>

// Far above any real JWT, far below what would make decoding costly.
const MAX_TOKEN_LENGTH = 16_384
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/
// Hono checks the time claims before the signature and without clock tolerance: they are checked
// here instead, after the signature, so nothing about an unsigned token's claims is reported.
const SIGNATURE_ONLY = { exp: false, nbf: false, iat: false } as const

/**
 * Hono's JWT verification (header, `alg` allow-list, key by `kid`, signature), then the claims
 * this service requires. Throws UnauthenticatedError, or KeysUnavailableError when a JWKS
 * cannot be fetched.
 */
export function tokenVerifier(config: AuthConfig, jwksOptions: Pick<JwksCacheOptions, 'onFetchError'> = {}): VerifyToken {
  const signature =
    'jwksUrl' in config.keys
      ? jwksSignature(config, new JwksCache(config.keys.jwksUrl, { maxAgeMs: config.keys.cacheMs, minRefreshMs: config.keys.minRefreshMs, timeoutMs: 5000, ...jwksOptions }))
      : secretSignature(config.keys.secret)
  return async (token) => {
    if (token.length > MAX_TOKEN_LENGTH || !COMPACT_JWS.test(token)) throw new UnauthenticatedError('The token is not a signed JWT')
    let header: { alg?: unknown; kid?: unknown }
    try {
      header = decode(token).header
    } catch {
      throw new UnauthenticatedError('The token is not a signed JWT')
    }
    if (!config.algorithms.includes(header.alg as SignatureAlgorithm)) {
      throw new UnauthenticatedError(`The token's algorithm is not accepted; expected ${config.algorithms.join(', ')}`)
    }
    let payload: Record<string, unknown>
    try {
      payload = await signature(token, header)
    } catch (error) {
      if (error instanceof KeysUnavailableError) throw error
      throw new UnauthenticatedError(refusal(error))
    }
    return { claims: payload, validUntilMs: checkClaims(payload, config) }
  }
}

type CheckSignature = (token: string, header: { alg?: unknown; kid?: unknown }) => Promise<Record<string, unknown>>

function jwksSignature(config: AuthConfig, jwks: JwksCache): CheckSignature {
  const allowedAlgorithms = config.algorithms as Parameters<typeof verifyWithJwks>[1]['allowedAlgorithms']
  return async (token, header) => {
    if (typeof header.kid !== 'string') throw new UnauthenticatedError('The token names no signing key (kid)')
    const key = await jwks.keyFor(header.kid)
    if (!key) throw new UnauthenticatedError('The token was signed with an unknown key')
    return verifyWithJwks(token, { keys: [key], allowedAlgorithms, verification: SIGNATURE_ONLY })
  }
}

function secretSignature(secret: string): CheckSignature {
  // Imported once per algorithm: a CryptoKey, so that Hono never reads the secret as a PEM text.
  const keys = new Map<string, CryptoKey>()
  const keyFor = async (alg: SignatureAlgorithm): Promise<CryptoKey> => {
    let key = keys.get(alg)
    if (!key) {
      const hash = `SHA-${alg.slice(2)}`
      key = await crypto.subtle.importKey('raw', new TextEncoder().encode(secret), { name: 'HMAC', hash }, false, ['verify'])
      keys.set(alg, key)
    }
    return key
  }
  return async (token, header) => {
    const alg = header.alg as SignatureAlgorithm
    return verify(token, await keyFor(alg), { alg, ...SIGNATURE_ONLY })
  }
}

/** Expiry (required), not-before, issuer and audience, with the configured clock tolerance. */
function checkClaims(payload: Record<string, unknown>, config: AuthConfig): number {
  const now = Date.now() / 1000
  const tolerance = config.clockToleranceSeconds
  const { exp, nbf, iss, aud } = payload
  if (typeof exp !== 'number' || !Number.isFinite(exp)) throw new UnauthenticatedError('The token has no expiry (exp)')
  if (exp + tolerance <= now) throw new UnauthenticatedError('The token has expired')
  if (nbf !== undefined && (typeof nbf !== 'number' || !Number.isFinite(nbf) || nbf - tolerance > now)) {
    throw new UnauthenticatedError('The token is not valid yet (nbf)')
  }
  if (config.issuer !== undefined && iss !== config.issuer) throw new UnauthenticatedError("The token's issuer is not accepted")
  if (config.audiences) {
    const audiences = typeof aud === 'string' ? [aud] : Array.isArray(aud) ? aud : []
    if (!audiences.some((audience) => config.audiences!.includes(audience))) throw new UnauthenticatedError("The token's audience is not accepted")
  }
  return (exp + tolerance) * 1000
}

/** What Hono's (or WebCrypto's) error means, without its text: Hono's messages quote the token. */
function refusal(error: unknown): string {
  if (error instanceof UnauthenticatedError) return error.message
  switch (error instanceof Error ? error.name : '') {
    case 'JwtTokenSignatureMismatched':
      return "The token's signature is invalid"
    case 'JwtAlgorithmNotAllowed':
    case 'JwtSymmetricAlgorithmNotAllowed':
    case 'JwtAlgorithmMismatch':
    case 'JwtAlgorithmNotImplemented':
      return "The token's algorithm does not match its key"
    case 'JwtHeaderInvalid':
      return "The token's header is not accepted (typ must be JWT, no crit)"
    case 'DataError':
    case 'InvalidAccessError':
    case 'NotSupportedError':
      return "The token's key cannot verify its algorithm"
    default:
      return 'The token is not a valid signed JWT'
  }
}
