import { sha256 } from '@noble/hashes/sha2.js'
import { RequestError } from '../errors'
import { base64url } from './base64url'
import { HmacSha256 } from './hmac-sha256'

/**
 * Cursors are the SSE event ids: `1.<binding>.<position>` or, signed,
 * `1.<binding>.<position>.<kid>.<signature>`, or, signed for the events of a batch,
 * `1.<binding>.<position>.<kid>.<signature>.<first>.<last>`.
 *
 * - `1` is the format version.
 * - `binding` is a short hash of the provider id and the resolved stream/topics/keys,
 *   so a cursor of one subscription cannot be replayed against another.
 * - `position` is the provider's own URL-safe position text (never contains `.`).
 * - `kid`/`signature`: HMAC-SHA256 (first 16 bytes), with the first key of CURSOR_KEYS, over
 *   `1.<binding>.<position>`, or over `1.<binding>.<first>.<last>`: the positions of the first and
 *   the last event of a batch the stream was sent. Any listed key verifies, so keys can be rotated.
 *
 * A batch's events share one signature: a replay signs once per batch instead of once per event
 * (bench/RESULTS.md). It admits any position from `first` to `last` in the provider's order, and
 * each of those is one the client could resume from anyway: every event between them was sent to
 * it. Nothing outside the batch is admitted: before it lies history the stream never sent, after it
 * a position the log may not have, which providers answer by reading from the log's start.
 *
 * Signing is synchronous (see hmac-sha256.ts) so the per-event loop never awaits.
 */
const VERSION = '1'
const SIGNATURE_BYTES = 16
const MAX_CURSOR_LENGTH = 4096
const URL_SAFE = /^[A-Za-z0-9_~-]+$/
/** What a batch's range adds to an event's signed cursor, beside its two positions: two dots. */
const RANGE_SEPARATORS = 2

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

/** How a provider reads positions: the checks a cursor's positions pass before a stream starts there. */
export interface PositionRules {
  isValid(position: string): boolean
  /** Negative, 0 or positive as `a` comes before, at or after `b`; NaN when neither. */
  compare(a: string, b: string): number
}

export class CursorCodec {
  private readonly byId: Map<string, Signer>
  private readonly signer: Signer | undefined
  // The streams of one route at the live end encode the same position one after another: made once.
  private lastBinding = ''
  private lastPosition = ''
  private lastFirst = ''
  private lastLast = ''
  private lastCursor = ''
  // A batch's events share what follows their positions, the signature of its range: made once.
  private suffixBinding = ''
  private suffixFirst = ''
  private suffixLast = ''
  private suffix = ''

  constructor(keys: readonly CursorKey[] = []) {
    const signers = keys.map((key) => new Signer(key))
    this.byId = new Map(signers.map((signer) => [signer.id, signer]))
    this.signer = signers[0]
  }

  /**
   * The cursor of the event at `position`, in a batch whose events lie from `first` to `last`
   * (a single event by default). Signed, the events of a batch of several share the signature of
   * its range; a range that would make the cursor too long to read back is not used.
   */
  encode(binding: string, position: string, first = position, last = position): string {
    if (position === this.lastPosition && binding === this.lastBinding && first === this.lastFirst && last === this.lastLast) return this.lastCursor
    const body = `${VERSION}.${binding}.${position}`
    const signer = this.signer
    const cursor = signer ? body + this.signedSuffix(signer, binding, body.length, position, first, last) : body
    this.lastBinding = binding
    this.lastPosition = position
    this.lastFirst = first
    this.lastLast = last
    this.lastCursor = cursor
    return cursor
  }

  /**
   * What follows a signed cursor's position: `.<kid>.<signature>` of the position, or of the batch's
   * range followed by `.<first>.<last>`; made once for the events of a batch.
   */
  private signedSuffix(signer: Signer, binding: string, bodyLength: number, position: string, first: string, last: string): string {
    const ranged = first !== last && bodyLength + signer.cursorPartLength + RANGE_SEPARATORS + first.length + last.length <= MAX_CURSOR_LENGTH
    if (!ranged) first = last = position
    if (first !== this.suffixFirst || last !== this.suffixLast || binding !== this.suffixBinding) {
      this.suffix = ranged
        ? `.${signer.id}.${signer.sign(`${VERSION}.${binding}.${first}.${last}`)}.${first}.${last}`
        : `.${signer.id}.${signer.sign(`${VERSION}.${binding}.${position}`)}`
      this.suffixBinding = binding
      this.suffixFirst = first
      this.suffixLast = last
    }
    return this.suffix
  }

  /**
   * Returns the position of a cursor issued for `binding`, valid by the provider's `rules`, or
   * throws 400 INVALID_CURSOR. With keys, a batch's cursor must lie within its signed range.
   */
  decode(binding: string, cursor: string, rules: PositionRules): string {
    if (cursor.length > MAX_CURSOR_LENGTH) throw invalid('is too long')
    const parts = cursor.split('.')
    if (parts[0] !== VERSION || (parts.length !== 3 && parts.length !== 5 && parts.length !== 7) || !parts.every((part) => URL_SAFE.test(part))) {
      throw invalid('is malformed')
    }
    const [, cursorBinding, position, keyId, signature, first, last] = parts as [string, string, string, string?, string?, string?, string?]
    const ranged = first !== undefined && last !== undefined
    if (this.signer) {
      const key = keyId === undefined ? undefined : this.byId.get(keyId)
      const covered = ranged ? `${first}.${last}` : position
      if (!key || signature === undefined || !timingSafeEqual(signature, key.sign(`${VERSION}.${cursorBinding}.${covered}`))) {
        throw invalid('has no valid signature')
      }
    }
    if (cursorBinding !== binding) throw invalid('belongs to another subscription')
    if (!rules.isValid(position)) throw invalid('is malformed')
    // Without keys nothing is signed, and a range bounds nothing.
    if (this.signer && ranged && !(rules.isValid(first) && rules.isValid(last) && rules.compare(first, position) <= 0 && rules.compare(position, last) <= 0)) {
      throw invalid('lies outside the batch its signature covers')
    }
    return position
  }
}

function invalid(reason: string): RequestError {
  return new RequestError(400, 'INVALID_CURSOR', `Last-Event-ID ${reason}`)
}

/** One key of CURSOR_KEYS, ready to sign cursors and to verify them. */
class Signer {
  readonly id: string
  /** What `.<kid>.<signature>` adds to a cursor. */
  readonly cursorPartLength: number
  private readonly mac: HmacSha256

  constructor(key: CursorKey) {
    this.id = key.id
    this.cursorPartLength = 2 + key.id.length + Math.ceil((SIGNATURE_BYTES * 4) / 3)
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
