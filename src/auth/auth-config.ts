/** What JWT authentication of /graphql/stream is configured with (read by config/auth.ts). */
import type { AlgorithmTypes } from 'hono/jwt'

export type SignatureAlgorithm = keyof typeof AlgorithmTypes

export type KeySource = { jwksUrl: string; cacheMs: number; minRefreshMs: number } | { secret: string }

/** JWT authentication of /graphql/stream; absent when auth is off. */
export interface AuthConfig {
  keys: KeySource
  /** Algorithms a token's `alg` header may name: asymmetric with a JWKS, HMAC with a secret. */
  algorithms: SignatureAlgorithm[]
  issuer?: string
  /** The token's `aud` must name one of these. */
  audiences?: string[]
  /** A cookie that may carry the token (EventSource sends cookies, not headers). */
  cookie?: string
  /** Whether `?access_token=` is read (URLs end up in access logs). */
  queryToken: boolean
  clockToleranceSeconds: number
}
