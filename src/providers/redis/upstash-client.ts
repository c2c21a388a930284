/**
 * How the Redis Streams provider reaches Redis: the Upstash REST protocol through
 * @upstash/redis. Each runtime entry picks the build of the library made for it
 * (`@upstash/redis` on Node and Vercel, `@upstash/redis/cloudflare` on Workers)
 * and passes it to the setup as an `UpstashClientFactory`.
 */

export interface UpstashSettings {
  /** The REST URL of the database (`https://…upstash.io`, or any server speaking the protocol). */
  url: string
  token: string
}

/** What the Redis Streams provider is configured with (config/providers.ts reads it). */
export interface RedisSettings extends UpstashSettings {
  /** How long one XREAD waits for new entries at the head of the stream. */
  blockMs: number
  requestTimeoutMs: number
}

/** One Redis command; resolves to the raw reply, its strings as the REST layer's JSON strings. */
export type RedisCommand = (args: [string, ...string[]]) => Promise<unknown>

/** A client for one stream's lifetime: aborting `signal` cancels its request in flight. */
export type UpstashClientFactory = (settings: UpstashSettings, signal: AbortSignal) => RedisCommand

/** The configuration both builds of @upstash/redis take. */
export function upstashOptions(settings: UpstashSettings, signal: AbortSignal) {
  return {
    url: settings.url,
    token: settings.token,
    signal,
    enableTelemetry: false,
    // Raw replies: the payload stays the producer's JSON text instead of being parsed and re-serialized.
    automaticDeserialization: false,
    // Strings as JSON strings, not base64: the library decodes each base64 string with an array copy and a
    // TextDecoder of its own, three per entry read (id, field, payload). Without them the Node entry spent
    // 3.9-4.1 µs of CPU per event of the Redis replay instead of 5.7 (`npm run bench` replay, two runs
    // against the one before). Text that is not UTF-8 comes out the same either way (U+FFFD for each bad
    // byte), and a payload must be JSON text to be delivered at all.
    responseEncoding: false as const,
    // A blocking XREAD must travel alone, never batched with other commands into one request.
    enableAutoPipelining: false,
    // The provider only reads; the sync token orders a client's reads after its own writes.
    readYourWrites: false,
    // A couple of quick retries for a dropped connection; after that the stream ends with
    // UPSTREAM_UNAVAILABLE and the browser's EventSource resumes from its cursor.
    retry: { retries: 2, backoff: (attempt: number) => 50 * 2 ** attempt },
  }
}
