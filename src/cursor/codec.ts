import { sha256 } from '@noble/hashes/sha2.js'
import { RequestError } from '../errors'
import { base64url } from './base64url'
import { HmacSha256 } from './hmac-sha256'

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
 * Signing is synchronous (see hmac-sha256.ts) so the per-event loop never awaits.
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
  return base64url(sha256(encoder.encode(parts.join('\n'))), 9)
}

export class CursorCodec {
  private readonly byId: Map<string, Signer>
  private readonly signer: Signer | undefined
  // The streams of one route at the live end encode the same position one after another: signed once.
  private lastBinding = ''
  private lastPosition = ''
  private lastCursor = ''

  constructor(keys: readonly CursorKey[] = []) {
    const signers = keys.map((key) => new Signer(key))
    this.byId = new Map(signers.map((signer) => [signer.id, signer]))
    this.signer = signers[0]
  }

  encode(binding: string, position: string): string {
    if (position === this.lastPosition && binding === this.lastBinding) return this.lastCursor
    const body = `${VERSION}.${binding}.${position}`
    const signer = this.signer
    const cursor = signer ? `${body}.${signer.id}.${signer.sign(body)}` : body
    this.lastBinding = binding
    this.lastPosition = position
    this.lastCursor = cursor
    return cursor
  }

  /** Returns the position of a cursor issued for `binding`, or throws 400 INVALID_CURSOR. */
  decode(binding: string, cursor: string): string {
    if (cursor.length > MAX_CURSOR_LENGTH) throw invalid('is too long')
    const parts = cursor.split('.')
    if (parts[0] !== VERSION || (parts.length !== 3 && parts.length !== 5) || !parts.every((part) => URL_SAFE.test(part))) {
      throw invalid('is malformed')
    }
    const [, cursorBinding, position, keyId, signature] = parts as [string, string, string, string?, string?]
    if (this.signer) {
      const key = keyId === undefined ? undefined : this.byId.get(keyId)
      if (!key || signature === undefined || !timingSafeEqual(signature, key.sign(`${VERSION}.${cursorBinding}.${position}`))) {
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

/** One key of CURSOR_KEYS, ready to sign: every event's cursor is signed. */
class Signer {
  readonly id: string
  private readonly mac: HmacSha256

  constructor(key: CursorKey) {
    this.id = key.id
    this.mac = new HmacSha256(key.secret)
  }

  sign(body: string): string {
    return this.mac.signBase64url(body, SIGNATURE_BYTES)
  }
}

function timingSafeEqual(a: string, b: string): boolean {
  if (a.length !== b.length) return false
  let diff = 0
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i)
  return diff === 0
}

const encoder = new TextEncoder()
