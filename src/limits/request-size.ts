import type { MiddlewareHandler } from 'hono'
import { bodyLimit } from 'hono/body-limit'
import { RequestError } from '../errors'
import { maxBodyBytes, type Limits } from './limits'

/**
 * Refuses an oversized URL (414) or POST body (413) before anything reads it: the body is
 * counted as it streams in (Hono's bodyLimit), so a huge one is never buffered whole.
 */
export function limitRequestSize(limits: Limits): MiddlewareHandler {
  const maxBody = maxBodyBytes(limits)
  const body = bodyLimit({
    maxSize: maxBody,
    onError: () => {
      throw new RequestError(413, 'REQUEST_TOO_LARGE', `The request body is larger than ${maxBody} bytes`)
    },
  })
  return async (c, next) => {
    if (c.req.url.length > limits.maxUrlLength) {
      throw new RequestError(414, 'REQUEST_TOO_LARGE', `The request URL is longer than ${limits.maxUrlLength} characters`)
    }
    // A GET has no body to limit; asking for one would make the request's web Request, which
    // Node's adapter builds only on demand and which a stream would then hold for its life.
    return c.req.method === 'GET' ? next() : body(c, next)
  }
}

/** The `query` and `variables` parameters as received: text, or a POST body's parsed object. */
export function checkParameterSizes(params: Record<string, unknown>, limits: Limits): void {
  if (typeof params.query === 'string' && utf8Bytes(params.query) > limits.maxQueryBytes) {
    throw new RequestError(413, 'REQUEST_TOO_LARGE', `The query is larger than ${limits.maxQueryBytes} bytes`)
  }
  const { variables } = params
  if (variables == null) return
  if ((typeof variables === 'string' ? utf8Bytes(variables) : jsonBytes(variables)) > limits.maxVariablesBytes) {
    throw new RequestError(413, 'REQUEST_TOO_LARGE', `The variables are larger than ${limits.maxVariablesBytes} bytes`)
  }
}

const encoder = new TextEncoder()

function utf8Bytes(text: string): number {
  return encoder.encode(text).byteLength
}

/** A POST body's variables, measured as JSON text. */
function jsonBytes(value: unknown): number {
  try {
    return utf8Bytes(JSON.stringify(value))
  } catch {
    // JSON.stringify recurses: a few thousand nested arrays overflow the stack. Too deep to measure is too large.
    return Infinity
  }
}
