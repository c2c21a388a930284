import { Redis } from 'ioredis'
import type { UpstashRestServer } from './upstash-rest-server'

/** Redis routes of the integration tests: each test names its own streams, so tests never share data. */
export const redisSchema = /* GraphQL */ `
  type Query { ok: Boolean }
  type Event { n: Int! key: String }
  type Subscription {
    single(stream: String!): Event! @edfs__redisSubscribe(channels: ["r:{{ args.stream }}:a"], providerId: "cache")
    pair(stream: String!): Event!
      @edfs__redisSubscribe(channels: ["r:{{ args.stream }}:a", "r:{{ args.stream }}:b"], providerId: "cache")
  }
`

export const singleQuery = (stream: string) => `subscription { single(stream: "${stream}") { n key } }`
export const pairQuery = (stream: string) => `subscription { pair(stream: "${stream}") { n key } }`
export const streamKey = (stream: string, side: 'a' | 'b') => `r:${stream}:${side}`

/** The function's configuration for the schema's provider "cache", pointed at a REST server. */
export const redisEnv = (rest: UpstashRestServer, token = rest.token) => ({
  SCHEMA: redisSchema,
  REDIS_CACHE_URL: rest.url,
  REDIS_CACHE_TOKEN: token,
})

/** A test's own connection to the real redis-server (not through the function or the REST layer). */
export class RedisAdmin {
  readonly redis: Redis

  constructor(port: number) {
    this.redis = new Redis({ port, host: '127.0.0.1' })
  }

  /** XADDs each payload as the JSON text of field `data`, in order; returns the entry ids. */
  async add(key: string, payloads: unknown[]): Promise<string[]> {
    const ids: string[] = []
    for (let i = 0; i < payloads.length; i += 500) {
      const pipeline = this.redis.pipeline()
      for (const payload of payloads.slice(i, i + 500)) pipeline.xadd(key, '*', 'data', JSON.stringify(payload))
      for (const [error, id] of (await pipeline.exec())!) {
        if (error) throw error
        ids.push(id as string)
      }
    }
    return ids
  }

  /** XADD with any fields (entries off the documented layout) and any id (`*`: the server's). */
  async addFields(key: string, fields: string[], id = '*'): Promise<string> {
    return (await this.redis.xadd(key, id, ...fields))!
  }

  close(): void {
    this.redis.disconnect()
  }
}

