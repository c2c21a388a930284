/**
 * What a /graphql/stream request asks for, read from HTTP: the GraphQL-over-HTTP parameters
 * and where in the log to start.
 */
import type { Context } from 'hono'
import { RequestError } from '../errors'
import type { StartPosition } from '../providers/provider'

/** GraphQL-over-HTTP parameters from the query string (GET) or a JSON body (POST). */
export async function readParams(c: Context): Promise<Record<string, unknown>> {
  if (c.req.method === 'GET') return c.req.query()
  let body: unknown
  try {
    body = await c.req.json()
  } catch {
    throw new RequestError(400, 'BAD_REQUEST', 'The request body must be a JSON object')
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new RequestError(400, 'BAD_REQUEST', 'The request body must be a JSON object')
  }
  return body as Record<string, unknown>
}

/** `Last-Event-ID`, then `?lastEventId=`, then `?from=earliest`, else new events only. */
export function readStartPosition(c: Context, decode: (cursor: string) => string): StartPosition {
  const cursor = c.req.header('Last-Event-ID') || c.req.query('lastEventId')
  if (cursor) return { from: 'after', position: decode(cursor) }
  const from = c.req.query('from')
  if (from === undefined || from === 'live') return { from: 'live' }
  if (from === 'earliest') return { from: 'earliest' }
  throw new RequestError(400, 'BAD_REQUEST', 'from must be "earliest" or "live"')
}
