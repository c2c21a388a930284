/**
 * The Redis provider through the whole function (Node entry in-process, Workers
 * entry in workerd), against the real redis-server behind the Upstash REST
 * translation: gaps, broker failures, malformed entries, cursors, release.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { createServerFromEnv } from '../../src/setup'
import { nodeUpstashClient } from '../../src/providers/redis/upstash-node'
import { pairQuery, RedisAdmin, redisEnv, redisSchema, singleQuery, streamKey } from '../support/redis'
import { streamUrl } from '../support/schemas'
import { openSse, readNextEvents, type SseEvent } from '../support/sse-client'
import { startTarget, type Target, type TargetName } from '../support/targets'
import { startUpstashRestServer, type UpstashRestServer } from '../support/upstash-rest-server'
import { uniqueName } from '../support/random'

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i)
const numbers = (events: SseEvent[]) => events.map((e) => JSON.parse(e.data).data.single.n as number)
const isWait = (command: readonly string[]) => command[0] === 'XREAD' && command.includes('BLOCK')

describe.each<TargetName>(['node', 'workerd'])('Redis Streams on %s', (targetName) => {
  let admin: RedisAdmin
  let rest: UpstashRestServer
  let target: Target

  beforeAll(async () => {
    admin = new RedisAdmin(inject('redisPort'))
    rest = await startUpstashRestServer(inject('redisPort'))
    // workerd (behind Miniflare) notices a gone client when a write fails; heartbeats bound that delay.
    target = await startTarget(targetName, { ...redisEnv(rest), HEARTBEAT_SECONDS: '0.5' })
  })
  afterAll(async () => {
    await target?.close()
    await rest?.close()
    admin?.close()
  })

  const open = (query: string, lastEventId?: string, params: Record<string, string> = {}) =>
    openSse(streamUrl(target.baseUrl, query, params), lastEventId ? { headers: { 'Last-Event-ID': lastEventId } } : {})

  it('reports a retention gap when the stream was trimmed below the client, then goes on from the earliest entry', async () => {
    const stream = uniqueName('trim')
    await admin.add(streamKey(stream, 'a'), range(1, 100).map((n) => ({ n })))
    const first = await open(singleQuery(stream), undefined, { from: 'earliest' })
    const before = await readNextEvents(first, 10)
    first.cut()
    expect(numbers(before)).toEqual(range(1, 10))

    await admin.redis.xtrim(streamKey(stream, 'a'), 'MAXLEN', 50)
    const resumed = await open(singleQuery(stream), before.at(-1)!.id)
    const gap = await resumed.next()
    expect(gap).toMatchObject({ event: 'gap' })
    expect(gap!.id).toBeUndefined()
    const { requested, resumedFrom, reason } = JSON.parse(gap!.data)
    expect({ requested, reason }).toEqual({ requested: before.at(-1)!.id, reason: 'retention' })
    expect(numbers(await readNextEvents(resumed, 50))).toEqual(range(51, 100))
    resumed.cut()

    // resumedFrom is a cursor like any other: resuming from it continues at the same place.
    const again = await open(singleQuery(stream), resumedFrom)
    expect(numbers(await readNextEvents(again, 1))).toEqual([51])
    again.cut()
  })

  it('reports a position beyond a recreated stream as unknown and starts from its earliest entry', async () => {
    const stream = uniqueName('recreated')
    const key = streamKey(stream, 'a')
    await admin.add(key, [{ n: 1 }, { n: 2 }])
    const first = await open(singleQuery(stream), undefined, { from: 'earliest' })
    const [, second] = await readNextEvents(first, 2)
    first.cut()
    await admin.redis.del(key)
    await admin.addFields(key, ['data', JSON.stringify({ n: 3 })], '1-1')

    const resumed = await open(singleQuery(stream), second!.id)
    const gap = await resumed.next()
    expect(gap!.event).toBe('gap')
    expect(JSON.parse(gap!.data)).toMatchObject({ requested: second!.id, reason: 'unknown-position' })
    expect(numbers(await readNextEvents(resumed, 1))).toEqual([3])
    resumed.cut()
  })

  it('gives an entry without a JSON data field a per-event error and goes on', async () => {
    const stream = uniqueName('malformed')
    const key = streamKey(stream, 'a')
    await admin.add(key, [{ n: 1 }])
    await admin.addFields(key, ['payload', '{"n":2}'])
    await admin.addFields(key, ['data', '{"n":'])
    await admin.add(key, [{ n: 4 }])
    const connection = await open(singleQuery(stream), undefined, { from: 'earliest' })
    const events = await readNextEvents(connection, 4)
    connection.cut()
    expect(events.map((e) => JSON.parse(e.data))).toEqual([
      { data: { single: { n: 1, key: null } } },
      { data: null, errors: [{ message: expect.stringMatching(/^Redis stream entry \d+-\d+ has no "data" field$/), path: ['single'] }] },
      { data: null, errors: [{ message: 'The event payload is not valid JSON', path: ['single'] }] },
      { data: { single: { n: 4, key: null } } },
    ])
    // Each carries its id, so a client moves past a bad entry and never sees it again.
    expect(new Set(events.map((e) => e.id)).size).toBe(4)
    const resumed = await open(singleQuery(stream), events[1]!.id)
    expect((await readNextEvents(resumed, 2)).map((e) => JSON.parse(e.data).data?.single?.n ?? null)).toEqual([null, 4])
    resumed.cut()
  })

  it('with CURSOR_KEYS, signs a replay batch once, its range in each id, and resumes exactly after any of its ids', async () => {
    const stream = uniqueName('signed')
    for (const n of range(1, 20)) await admin.add(streamKey(stream, n % 2 === 0 ? 'a' : 'b'), [{ n }])
    const signing = await startTarget(targetName, { ...redisEnv(rest), CURSOR_KEYS: 'k:redis-cursor-key-0123456789' })
    try {
      const first = await openSse(streamUrl(signing.baseUrl, pairQuery(stream), { from: 'earliest' }))
      const events = await readNextEvents(first, 20)
      first.cut()
      // Sorted: the keys' entries merge by entry id, which two keys may share.
      const pairNumbers = (read: SseEvent[]) => read.map((e) => JSON.parse(e.data).data.pair.n as number).sort((x, y) => x - y)
      expect(pairNumbers(events)).toEqual(range(1, 20))
      const ranged = events.map((event) => event.id!.split('.')).filter((parts) => parts.length === 7)
      expect(ranged.length).toBeGreaterThan(1)
      expect(new Set(ranged.map((parts) => parts[4])).size).toBeLessThan(ranged.length)
      for (const index of [0, 6, 13, 18]) {
        const resumed = await openSse(streamUrl(signing.baseUrl, pairQuery(stream)), { headers: { 'Last-Event-ID': events[index]!.id! } })
        // Each key goes on after the event's entry id in it: the rest of the replay, none twice.
        expect(pairNumbers(await readNextEvents(resumed, 19 - index))).toEqual(pairNumbers(events.slice(index + 1)))
        resumed.cut()
      }
    } finally {
      await signing.close()
    }
  })

  it('refuses malformed, forged and foreign cursors with 400', async () => {
    const stream = uniqueName('cursor')
    await admin.add(streamKey(stream, 'a'), [{ n: 1 }])
    await admin.add(streamKey(stream, 'b'), [{ n: 2 }])
    const connection = await open(pairQuery(stream), undefined, { from: 'earliest' })
    const [event] = await readNextEvents(connection, 1)
    connection.cut()
    const cursor = event!.id!
    const [version, binding] = cursor.split('.')
    const refused = [
      `${version}.${binding}.5-0`, // one id for two keys
      `${version}.${binding}.5-0~6-0~7-0`,
      `${version}.${binding}.5~6-0`,
      `${version}.${binding}.01-0~6-0`,
      `${version}.${binding}.18446744073709551616-0~0-0`,
      'garbage',
    ]
    for (const lastEventId of refused) {
      const response = await fetch(streamUrl(target.baseUrl, pairQuery(stream)), { headers: { 'Last-Event-ID': lastEventId } })
      expect(response.status, lastEventId).toBe(400)
      expect((await response.json()).errors[0].extensions.code).toBe('INVALID_CURSOR')
    }
    // The same position on another subscription (another stream argument) is foreign.
    const foreign = await fetch(streamUrl(target.baseUrl, pairQuery(uniqueName('other'))), { headers: { 'Last-Event-ID': cursor } })
    expect(foreign.status).toBe(400)
    expect((await foreign.json()).errors[0].extensions.code).toBe('INVALID_CURSOR')
  })

  it('releases the blocked read when the client goes away', async () => {
    const stream = uniqueName('release')
    const before = rest.commands.length
    const connection = await open(singleQuery(stream))
    await rest.waitForCommand(isWait, before)
    expect(rest.inFlight).toBeGreaterThan(0)
    connection.cut()
    await expect.poll(() => rest.inFlight, { timeout: 10_000, interval: 20 }).toBe(0)
  })
})

describe.each<TargetName>(['node', 'workerd'])('Redis Streams with a wrong token on %s', (targetName) => {
  let rest: UpstashRestServer
  let target: Target

  beforeAll(async () => {
    rest = await startUpstashRestServer(inject('redisPort'))
    target = await startTarget(targetName, redisEnv(rest, 'not-the-token'))
  })
  afterAll(async () => {
    await target?.close()
    await rest?.close()
  })

  it('reports UPSTREAM_UNAVAILABLE in the stream and closes it, without the broker error text', async () => {
    for (const params of [{ from: 'earliest' }, {}] as Record<string, string>[]) {
      const connection = await openSse(streamUrl(target.baseUrl, singleQuery(uniqueName('denied')), params))
      expect(connection.status).toBe(200)
      const error = await connection.next()
      expect(error).toMatchObject({ event: 'error' })
      expect(error!.id).toBeUndefined()
      expect(error!.retry).toBeGreaterThan(0)
      expect(JSON.parse(error!.data).errors[0].extensions.code).toBe('UPSTREAM_UNAVAILABLE')
      expect(await connection.next()).toBeUndefined()
      expect(connection.raw()).not.toMatch(/WRONGPASS|token/i)
    }
  })
})

describe('Redis configuration', () => {
  const env = { SCHEMA: redisSchema, LOG_LEVEL: 'silent' }
  const start = (vars: Record<string, string>) => () => createServerFromEnv({ ...env, ...vars }, { upstashClient: nodeUpstashClient })

  it('names the missing or invalid variable', () => {
    expect(start({})).toThrow(/^REDIS_CACHE_URL: is required/)
    expect(start({ REDIS_CACHE_URL: 'redis://127.0.0.1:6379', REDIS_CACHE_TOKEN: 't' })).toThrow(/^REDIS_CACHE_URL: must be the http/)
    expect(start({ REDIS_CACHE_URL: 'https://eu1-x.upstash.io' })).toThrow(/^REDIS_CACHE_TOKEN: is required/)
    expect(start({ REDIS_CACHE_URL: 'https://eu1-x.upstash.io', REDIS_CACHE_TOKEN: 't' })).not.toThrow()
  })
})
