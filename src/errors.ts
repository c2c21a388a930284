/**
 * Errors a client may see. Everything else is internal: it is logged and the
 * client only learns a generic message, never a stack or an internal text.
 */
export type ErrorCode =
  | 'BAD_REQUEST'
  | 'GRAPHQL_PARSE_FAILED'
  | 'GRAPHQL_VALIDATION_FAILED'
  | 'NOT_A_SUBSCRIPTION'
  | 'UNKNOWN_OPERATION'
  | 'INVALID_ARGUMENT'
  | 'INVALID_CURSOR'
  | 'UNAUTHENTICATED'
  | 'FORBIDDEN'
  | 'METHOD_NOT_ALLOWED'
  | 'REQUEST_TOO_LARGE'
  | 'NOT_FOUND'
  | 'UPSTREAM_UNAVAILABLE'
  | 'OVERLOADED'
  | 'NO_HISTORY'
  | 'UNKNOWN_TOPIC'
  | 'INTERNAL_SERVER_ERROR'

/**
 * A refusal of the request before the stream opens: status, code, a message safe to show, and
 * the headers the status calls for (`WWW-Authenticate` on 401, `Allow` on 405, `Retry-After`),
 * as Hono's HTTPException carries them. The app's error handler answers it as JSON.
 */
export class RequestError extends Error {
  constructor(
    readonly status: 400 | 401 | 403 | 404 | 405 | 413 | 414 | 500 | 503,
    readonly code: ErrorCode,
    message: string,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message)
    this.name = 'RequestError'
  }
}

/**
 * A failure after the stream opened that the client may see as it is. A permanent one
 * ends the subscription with `complete`; any other error is shown as UPSTREAM_UNAVAILABLE.
 */
export class StreamError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly permanent: boolean,
  ) {
    super(message)
    this.name = 'StreamError'
  }
}

/** The body of every error response and of `event: error` frames. */
export function errorBody(code: ErrorCode, message: string): { errors: { message: string; extensions: { code: ErrorCode } }[] } {
  return { errors: [{ message, extensions: { code } }] }
}
