import type { Context, MiddlewareHandler } from 'hono'
import { getCookie } from 'hono/cookie'
import { errorBody, RequestError } from '../errors'
import type { Logger } from '../log'
import { errorFrame, jitteredRetryMs, SSE_HEADERS } from '../sse/frames'
import type { AuthConfig } from './auth-config'
import { KeysUnavailableError } from './jwks-cache'
import { tokenVerifier, UnauthenticatedError, type Identity } from './verify-token'

/** What the middleware puts on the context, as Hono's jwt middleware types `JwtVariables`. */
export interface AuthVariables {
  /** The verified token of a /graphql/stream request; undefined when auth is off. */
  identity: Identity | undefined
}

const BEARER = /^Bearer +(\S+) *$/i

/**
 * Refuses a request without a valid token (401, JSON, `WWW-Authenticate`) and puts the verified
 * claims on the context for the subject templates. When the identity provider's keys cannot be
 * fetched, the client is told to retry as for an unavailable broker: a short SSE answer with a
 * `retry:` and an `error` frame, so EventSource comes back by itself instead of giving up.
 */
export function authenticate(config: AuthConfig, options: { log: Logger; retryMs: number }): MiddlewareHandler<{ Variables: AuthVariables }> {
  const { log, retryMs } = options
  const verify = tokenVerifier(config, { onFetchError: (error) => log('error', 'auth.jwks_unavailable', { error: String(error) }) })
  const missing = `Authentication required: send a token as Authorization: Bearer${config.cookie ? `, in the ${config.cookie} cookie` : ''}${config.queryToken ? ' or as the access_token query parameter' : ''}`
  return async (c, next) => {
    try {
      const token = readToken(c, config)
      if (token === undefined) throw new UnauthenticatedError(missing)
      c.set('identity', await verify(token))
    } catch (error) {
      if (error instanceof UnauthenticatedError) {
        log('info', 'auth.refused', { reason: error.message })
        throw new RequestError(401, 'UNAUTHENTICATED', error.message, { 'WWW-Authenticate': challenge(error.message, error.message === missing) })
      }
      if (error instanceof KeysUnavailableError) return keysUnavailable(retryMs)
      throw error
    }
    await next()
  }
}

/** `Authorization: Bearer`, then the cookie, then `?access_token=` (RFC 6750's three ways). */
function readToken(c: Context, config: AuthConfig): string | undefined {
  const authorization = c.req.header('Authorization')
  if (authorization) {
    const bearer = BEARER.exec(authorization)
    if (!bearer) throw new UnauthenticatedError('The Authorization header must be "Bearer <token>"')
    return bearer[1]
  }
  const cookie = config.cookie === undefined ? undefined : getCookie(c, config.cookie)
  if (cookie) return cookie
  return (config.queryToken && c.req.query('access_token')) || undefined
}

/** RFC 6750 §3: no error code when no token came at all. */
function challenge(message: string, missing: boolean): string {
  return missing ? 'Bearer realm="edge-stream"' : `Bearer realm="edge-stream", error="invalid_token", error_description="${message.replace(/["\\]/g, "'")}"`
}

/** A complete (not streamed) SSE answer: the `retry` is jittered so that clients do not return in step. */
function keysUnavailable(retryMs: number): Response {
  const body = errorBody('UPSTREAM_UNAVAILABLE', 'The identity provider is unavailable; retrying.')
  return new Response(errorFrame(JSON.stringify(body), jitteredRetryMs(retryMs)), { headers: SSE_HEADERS })
}
