import { hmac } from '@noble/hashes/hmac.js'
import { sha256 } from '@noble/hashes/sha2.js'
import { RequestError } from '../errors'

/**
 * Cursors are the SSE event ids: `1.<binding>.<position>` or, signed,
 * `1.<binding>.<position>.<kid>.<signature>`.
 *
 * - `1` is the format version.
 * - `binding` is a short hash of the provider id and the resolved stream/topics/keys,
 *   so a cursor of one subscription cannot be replayed against another.
 * - `position` is the provider's own URL-safe position text (never contains `.`).
 * - `kid`/`signature`: HMAC-SHA256 (first 16 bytes) over everything before it, with the
 *   first key of CURSOR_KEYS; any listed key verifies, so keys can be rotated.
 *
 * Signing is synchronous (noble's HMAC) so the per-event loop never awaits.
 */
const VERSION = '1'
const SIGNATURE_BYTES = 16
const MAX_CURSOR_LENGTH = 4096
const URL_SAFE = /^[A-Za-z0-9_~-]+$/

export interface CursorKey {
  id: string
  secret: Uint8Array
}

/** Parses `kid:secret,kid2:secret2`; the first key signs. */
export function parseCursorKeys(spec: string): CursorKey[] {
  return spec
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean)
    .map((entry) => {
      const colon = entry.indexOf(':')
      const id = entry.slice(0, colon)
      const secret = entry.slice(colon + 1)
      if (colon < 1 || !URL_SAFE.test(id)) throw new Error('each entry must be <key id>:<secret>, the id made of A-Z a-z 0-9 _ ~ -')
      if (secret.length < 16) throw new Error(`the secret of key "${id}" must be at least 16 characters`)
      return { id, secret: new TextEncoder().encode(secret) }
    })
}

/** A short, stable hash naming what a subscription reads (provider id + resolved route). */
export function subscriptionBinding(parts: readonly string[]): string {
  return base64url(sha256(new TextEncoder().encode(parts.join('\n'))).subarray(0, 9))
}

export class CursorCodec {
  private readonly byId: Map<string, CursorKey>

  constructor(private readonly keys: readonly CursorKey[] = []) {
    this.byId = new Map(keys.map((key) => [key.id, key]))
  }

  encode(binding: string, position: string): string {
    const body = `${VERSION}.${binding}.${position}`
    const signer = this.keys[0]
    return signer ? `${body}.${signer.id}.${sign(signer, body)}` : body
  }

  /** Returns the position of a cursor issued for `binding`, or throws 400 INVALID_CURSOR. */
  decode(binding: string, cursor: string): string {
    if (cursor.length > MAX_CURSOR_LENGTH) throw invalid('is too long')
    const parts = cursor.split('.')
    if (parts[0] !== VERSION || (parts.length !== 3 && parts.length !== 5) || !parts.every((part) => URL_SAFE.test(part))) {
      throw invalid('is malformed')
    }
    const [, cursorBinding, position, keyId, signature] = parts as [string, string, string, string?, string?]
    if (this.keys.length > 0) {
      const key = keyId === undefined ? undefined : this.byId.get(keyId)
      if (!key || signature === undefined || !timingSafeEqual(signature, sign(key, `${VERSION}.${cursorBinding}.${position}`))) {
        throw invalid('has no valid signature')
      }
    }
    if (cursorBinding !== binding) throw invalid('belongs to another subscription')
    return position
  }
}

function invalid(reason: string): RequestError {
  return new RequestError(400, 'INVALID_CURSOR', `Last-Event-ID ${reason}`)
}

function sign(key: CursorKey, body: string): string {
  return base64url(hmac(sha256, key.secret, new TextEncoder().encode(body)).subarray(0, SIGNATURE_BYTES))
}

function timingSafeEqual(a: string, b: string): boolean {
  if (a.length !== b.length) return false
  let diff = 0
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i)
  return diff === 0
}

function base64url(bytes: Uint8Array): string {
  let binary = ''
  for (const byte of bytes) binary += String.fromCharCode(byte)
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')
}
