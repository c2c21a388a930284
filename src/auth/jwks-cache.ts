import type { verifyWithJwks } from 'hono/jwt'

export type Jwk = NonNullable<Parameters<typeof verifyWithJwks>[1]['keys']>[number]

/** No key could ever be fetched: the client should retry later, it did nothing wrong. */
export class KeysUnavailableError extends Error {
  constructor() {
    super('The identity provider is unavailable')
    this.name = 'KeysUnavailableError'
  }
}

export interface JwksCacheOptions {
  /** Keys are fetched again after this long. */
  maxAgeMs: number
  /** At most one fetch per this interval, however many unknown `kid`s clients send. */
  minRefreshMs: number
  timeoutMs: number
  onFetchError?: (error: unknown) => void
  fetch?: typeof fetch
  now?: () => number
}

/**
 * The keys of a JWKS URL by `kid`. An unknown `kid` (the identity provider rotated its keys)
 * or expired keys trigger a fetch, rate-limited by `minRefreshMs`; when a fetch fails the
 * previous keys stay in use.
 *
 * No fetch is shared between requests through a pending promise: on Workers, awaiting a promise
 * that another request's I/O settles can leave a request without a response. Concurrent
 * requests on a cold cache each fetch once instead.
 */
export class JwksCache {
  private keys = new Map<string, Jwk>()
  private fetchedAt = -Infinity
  private lastAttempt = -Infinity
  private lastFailure = -Infinity
  private readonly fetch: typeof fetch
  private readonly now: () => number

  constructor(
    private readonly url: string,
    private readonly options: JwksCacheOptions,
  ) {
    this.fetch = options.fetch ?? ((input, init) => fetch(input, init))
    this.now = options.now ?? Date.now
  }

  /** The key named `kid`, undefined when the JWKS has none; throws KeysUnavailableError. */
  async keyFor(kid: string): Promise<Jwk | undefined> {
    const known = this.keys.get(kid)
    const fresh = this.now() - this.fetchedAt < this.options.maxAgeMs
    if ((!known || !fresh) && this.mayFetch()) await this.refresh()
    if (this.keys.size === 0) throw new KeysUnavailableError()
    return this.keys.get(kid)
  }

  private mayFetch(): boolean {
    // Without any key, only a recent failure holds back (cold start); with keys, any recent fetch does.
    const since = this.keys.size === 0 ? this.lastFailure : this.lastAttempt
    return this.now() - since >= this.options.minRefreshMs
  }

  private async refresh(): Promise<void> {
    this.lastAttempt = this.now()
    try {
      const response = await this.fetch(this.url, { headers: { accept: 'application/json' }, signal: AbortSignal.timeout(this.options.timeoutMs) })
      if (!response.ok) throw new Error(`the JWKS URL answered ${response.status}`)
      const keys = signingKeys(await response.json())
      this.keys = new Map(keys.map((key) => [key.kid!, key]))
      this.fetchedAt = this.now()
    } catch (error) {
      this.lastFailure = this.now()
      this.options.onFetchError?.(error)
    }
  }
}

/** The `keys` of a JWKS document that can verify signatures and have a `kid`. */
function signingKeys(document: unknown): Jwk[] {
  const keys = (document as { keys?: unknown } | null)?.keys
  if (!Array.isArray(keys)) throw new Error('the JWKS has no "keys" array')
  return keys.filter(
    (key): key is Jwk =>
      typeof key === 'object' && key !== null && typeof key.kid === 'string' && typeof key.kty === 'string' && (key.use === undefined || key.use === 'sig'),
  )
}
