import { Redis } from 'ioredis'
import { startRedisServer } from '../redis-server'
import { startUpstashRestServer } from '../upstash-rest-server'
import type { Delivery } from './delivery-count'
import { feedSchema, type Feed } from './feed'
import { proxyFaults, type FaultDurations } from './proxy-faults'
import { retry } from './retry'
import { startTcpProxy } from './tcp-proxy'

const LANES = 2
const key = (run: string, lane: number) => `rel:${run}:${lane}`

/**
 * Redis Streams: an own redis-server that syncs every write to its append-only
 * file (so a restart keeps every acknowledged entry), the Upstash REST translation
 * in front of it, and the proxy between the function and that REST endpoint (the
 * function's own network hop). Two keys per run, merged by the function.
 */
export async function startRedisFeed(durations: FaultDurations): Promise<Feed> {
  const redis = await startRedisServer({ persistent: true })
  const rest = await startUpstashRestServer(redis.port)
  const proxy = await startTcpProxy(Number(new URL(rest.url).port))
  const admin = new Redis({ port: redis.port, host: '127.0.0.1', maxRetriesPerRequest: null, retryStrategy: () => 100 })
  // Restarts break its connection on purpose; it reconnects by itself.
  admin.on('error', () => {})

  return {
    provider: 'redis',
    env: {
      SCHEMA: feedSchema(
        '@edfs__redisSubscribe(channels: ["rel:{{ args.run }}:0", "rel:{{ args.run }}:1"], providerId: "default")',
      ),
      REDIS_DEFAULT_URL: `http://127.0.0.1:${proxy.port}`,
      REDIS_DEFAULT_TOKEN: rest.token,
    },
    lanes: LANES,
    async prepare() {},
    async publish(run, events) {
      // Explicit entry ids (n-1): a retried XADD of an entry already written is refused, never doubled.
      const pending = [...events]
      await retry(async () => {
        const pipeline = admin.pipeline()
        for (const e of pending) pipeline.xadd(key(run, e.lane), `${e.n}-1`, 'data', JSON.stringify(e))
        const results = (await pipeline.exec()) ?? []
        const failed = pending.filter((_, i) => {
          const error = results[i]?.[0]
          return error && !/equal or smaller/.test(error.message)
        })
        pending.splice(0, pending.length, ...failed)
        if (pending.length > 0) throw new Error(`${pending.length} XADDs failed`)
      })
    },
    async readLog(run) {
      const log: Delivery[] = []
      for (let lane = 0; lane < LANES; lane++) {
        for (let after = '-'; ; ) {
          const entries = await admin.xrange(key(run, lane), after, '+', 'COUNT', 10_000)
          if (entries.length === 0) break
          for (const [, fields] of entries) log.push(JSON.parse(fields[1]!) as Delivery)
          after = `(${entries.at(-1)![0]}`
        }
      }
      return log
    },
    async held() {
      // A waiting XREAD of the function blocks one redis connection of the REST layer.
      const list = String(await admin.client('LIST'))
      return {
        blockedCommands: list.split('\n').filter((line) => /flags=\S*b/.test(line)).length,
        restRequests: rest.inFlight,
        proxiedConnections: proxy.open,
      }
    },
    faults: [...proxyFaults(proxy, durations), { kind: 'broker-restart', inject: () => redis.restart() }],
    async close() {
      admin.disconnect()
      await proxy.close()
      await rest.close()
      await redis.stop()
    },
  }
}
