import { Redis } from '@upstash/redis'
import { RedisAdmin } from '../../test/support/redis'
import { startRedisServer } from '../../test/support/redis-server'
import { startTranslation } from '../support/translation'
import { eventType, payload, type ReplayBroker } from './broker'

const KEY = 'bench:events'
const PAGE = 1000

/**
 * Redis Streams through the Upstash REST protocol: a real redis-server behind the
 * tests' REST translation, read by @upstash/redis on both sides.
 */
export async function startRedisReplay(total: number): Promise<ReplayBroker> {
  const redisServer = await startRedisServer()
  const admin = new RedisAdmin(redisServer.port)
  await admin.add(KEY, Array.from({ length: total }, (_, i) => JSON.parse(payload(i + 1)) as unknown))
  admin.close()
  const { url, token, stop: stopRest } = await startTranslation('upstash-redis', String(redisServer.port))
  return {
    name: 'redis',
    env: {
      SCHEMA: `${eventType}\ntype Subscription { events: Event! @edfs__redisSubscribe(channels: ["${KEY}"], providerId: "default") }`,
      REDIS_DEFAULT_URL: url,
      REDIS_DEFAULT_TOKEN: token,
    },
    async readRaw(count) {
      // The same protocol and client as the provider: paged XREADs after the last entry id.
      const redis = new Redis({ url, token, enableTelemetry: false, automaticDeserialization: false, enableAutoPipelining: false })
      let last = '0-0'
      let read = 0
      while (read < count) {
        const reply = (await redis.exec(['XREAD', 'COUNT', String(PAGE), 'STREAMS', KEY, last])) as [string, [string, string[]][]][] | null
        const entries = reply?.[0]?.[1] ?? []
        if (entries.length === 0) throw new Error(`the stream ended after ${read} of ${count} entries`)
        for (const [id, fields] of entries) {
          JSON.parse(fields[1]!)
          last = id
          if (++read === count) break
        }
      }
    },
    async stop() {
      await stopRest()
      await redisServer.stop()
    },
  }
}
