import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { pairQuery, RedisAdmin, redisEnv, streamKey } from '../support/redis'
import { openSse, readNextEvents, type SseEvent } from '../support/sse-client'
import { startTarget, type Target, type TargetName } from '../support/targets'
import { startUpstashRestServer, type UpstashRestServer } from '../support/upstash-rest-server'
import { streamUrl } from '../support/schemas'
import { seededRandom, uniqueName } from '../support/random'

interface Received {
  n: number
  key: string
}

const payloadOf = (event: SseEvent): Received => JSON.parse(event.data).data.pair

describe.each<TargetName>(['node', 'workerd'])('Redis Streams resume on %s', (targetName) => {
  let admin: RedisAdmin
  let rest: UpstashRestServer
  let target: Target

  beforeAll(async () => {
    admin = new RedisAdmin(inject('redisPort'))
    rest = await startUpstashRestServer(inject('redisPort'))
    target = await startTarget(targetName, redisEnv(rest))
  })
  afterAll(async () => {
    await target?.close()
    await rest?.close()
    admin?.close()
  })

  it('delivers 2,000 entries of two keys exactly once, in per-key order, across random cuts', async () => {
    const seed = 20_251_127 + (targetName === 'node' ? 0 : 1)
    const random = seededRandom(seed)
    const stream = uniqueName('resume')
    // Entries alternate between the keys at random, so the merge sees every interleaving.
    for (let n = 1; n <= 2000; ) {
      const side = random() < 0.5 ? 'a' : 'b'
      const run = 1 + Math.floor(random() * 20)
      const payloads = Array.from({ length: Math.min(run, 2001 - n) }, (_, i) => ({ n: n + i, key: side }))
      await admin.add(streamKey(stream, side), payloads)
      n += payloads.length
    }

    const received: Received[] = []
    let lastEventId: string | undefined
    let connections = 0
    while (received.length < 2000 && connections < 200) {
      connections++
      const params: Record<string, string> = lastEventId === undefined ? { from: 'earliest' } : {}
      const headers: Record<string, string> = lastEventId === undefined ? {} : { 'Last-Event-ID': lastEventId }
      const connection = await openSse(streamUrl(target.baseUrl, pairQuery(stream), params), { headers })
      expect(connection.status).toBe(200)
      // A cut anywhere: after 1 to 300 events, whatever the server had already sent beyond them is lost.
      const take = Math.min(1 + Math.floor(random() * 300), 2000 - received.length)
      const events = await readNextEvents(connection, take)
      connection.cut()
      expect(events, `seed ${seed}, connection ${connections}`).toHaveLength(take)
      received.push(...events.map(payloadOf))
      lastEventId = events.at(-1)!.id
    }

    expect(connections).toBeGreaterThan(5)
    expect(received.map((r) => r.n).sort((x, y) => x - y)).toEqual(Array.from({ length: 2000 }, (_, i) => i + 1))
    for (const side of ['a', 'b']) {
      const ns = received.filter((r) => r.key === side).map((r) => r.n)
      expect(ns, `per-key order of ${side}`).toEqual([...ns].sort((x, y) => x - y))
    }

    // Caught up, the stream waits for new entries and delivers them as they come.
    const before = rest.commands.length
    const live = await openSse(streamUrl(target.baseUrl, pairQuery(stream)), { headers: { 'Last-Event-ID': lastEventId! } })
    await rest.waitForCommand((command) => command[0] === 'XREAD' && command.includes('BLOCK'), before)
    await admin.add(streamKey(stream, 'b'), [{ n: 2001, key: 'b' }])
    expect((await readNextEvents(live, 1)).map(payloadOf)).toEqual([{ n: 2001, key: 'b' }])
    live.cut()
  })
})
