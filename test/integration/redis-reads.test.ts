/**
 * The Redis Streams provider on its own, against the real redis-server through the
 * Upstash REST translation: what happens between reads (trims while a client is
 * slow, idle waits) is driven step by step by pulling the iterator.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import type { ProviderItem, ResolvedRoute, StartPosition } from '../../src/providers/provider'
import { RedisStreamsProvider, type RedisStreamsOptions } from '../../src/providers/redis-streams'
import { nodeUpstashClient } from '../../src/providers/upstash-node'
import { RedisAdmin, streamKey } from '../support/redis'
import { startUpstashRestServer, type UpstashRestServer } from '../support/upstash-rest-server'
import { uniqueName } from '../support/random'

describe('Redis Streams reads', () => {
  let admin: RedisAdmin
  let rest: UpstashRestServer

  beforeAll(async () => {
    admin = new RedisAdmin(inject('redisPort'))
    rest = await startUpstashRestServer(inject('redisPort'))
  })
  afterAll(async () => {
    await rest?.close()
    admin?.close()
  })

  function open(keys: string[], start: StartPosition, options: RedisStreamsOptions = {}) {
    const provider = new RedisStreamsProvider((signal) => nodeUpstashClient({ url: rest.url, token: rest.token }, signal), options)
    const route: ResolvedRoute = { kind: 'redis', providerId: 'cache', names: keys }
    const abort = new AbortController()
    const batches = provider.open(route, start, abort.signal)[Symbol.asyncIterator]()
    return {
      abort,
      async next(): Promise<ProviderItem[]> {
        const result = await batches.next()
        if (result.done) throw new Error('the stream ended')
        return result.value
      },
      /** Aborts and waits until the provider's iterator has ended. */
      async close(pending?: Promise<unknown>) {
        abort.abort()
        await pending
        await batches.return?.()
      },
    }
  }

  const numbers = (items: ProviderItem[]) =>
    items.map((item) => (item.type === 'event' ? (JSON.parse(item.text) as { n: number }).n : item.type))
  const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i)

  it('reports a gap when the log is trimmed past unread entries while the client is slow', async () => {
    const key = streamKey(uniqueName('slow'), 'a')
    const ids = await admin.add(key, range(1, 100).map((n) => ({ n })))
    const stream = open([key], { from: 'earliest' }, { pageSize: 10 })
    expect(numbers(await stream.next())).toEqual(range(1, 10))
    // The client has 1..10; 11..50 are trimmed before it asks for more.
    await admin.redis.xtrim(key, 'MAXLEN', 50)
    expect(await stream.next()).toEqual([{ type: 'gap', requested: ids[9], resumedFrom: expect.any(String), reason: 'retention' }])
    expect(numbers(await stream.next())).toEqual(range(51, 60))
    await stream.close()
  })

  it('reports no gap when the trim provably took only entries the client has', async () => {
    const key = streamKey(uniqueName('trimmed-read'), 'a')
    // Explicit ids: entry 11 is 5-11, the immediate successor of 5-10, so nothing can lie between them.
    for (const n of range(1, 30)) await admin.addFields(key, ['data', JSON.stringify({ n })], `5-${n}`)
    const stream = open([key], { from: 'earliest' }, { pageSize: 10 })
    expect(numbers(await stream.next())).toEqual(range(1, 10))
    await admin.redis.xtrim(key, 'MINID', '5-11')
    expect(numbers(await stream.next())).toEqual(range(11, 20))
    await stream.close()
  })

  it('reports a gap when its last entry was trimmed and it cannot tell what went with it', async () => {
    const key = streamKey(uniqueName('ambiguous'), 'a')
    for (const n of range(1, 30)) await admin.addFields(key, ['data', JSON.stringify({ n })], `${n}-0`)
    const stream = open([key], { from: 'earliest' }, { pageSize: 10 })
    expect(numbers(await stream.next())).toEqual(range(1, 10))
    // Ids 10-1 … 11-… could have existed: Redis keeps no record of what a trim removed.
    await admin.redis.xtrim(key, 'MINID', '11-0')
    expect(await stream.next()).toEqual([{ type: 'gap', requested: '10-0', resumedFrom: '10-18446744073709551615', reason: 'retention' }])
    expect(numbers(await stream.next())).toEqual(range(11, 20))
    await stream.close()
  })

  it('tracks each key of a vector position through a trim of one of them', async () => {
    const name = uniqueName('vector')
    const [a, b] = [streamKey(name, 'a'), streamKey(name, 'b')]
    for (const n of range(1, 20)) await admin.addFields(a, ['data', JSON.stringify({ n })], `1-${n}`)
    for (const n of range(1, 20)) await admin.addFields(b, ['data', JSON.stringify({ n: 100 + n })], `2-${n}`)
    const stream = open([a, b], { from: 'earliest' }, { pageSize: 5 })
    const first = await stream.next()
    expect(numbers(first)).toEqual([1, 2, 3, 4, 5, 101, 102, 103, 104, 105])
    expect(first.map((item) => item.type === 'event' && item.position)).toEqual([
      ...range(1, 5).map((n) => `1-${n}~0-0`),
      ...range(1, 5).map((n) => `1-5~2-${n}`),
    ])
    await admin.redis.xtrim(b, 'MAXLEN', 5)
    // Key a goes on; key b reports its gap, with a's position untouched.
    const second = await stream.next()
    expect(second[0]).toEqual({ type: 'gap', requested: '1-5~2-5', resumedFrom: '1-5~2-15', reason: 'retention' })
    expect(numbers(second.slice(1))).toEqual([6, 7, 8, 9, 10])
    expect(numbers(await stream.next())).toEqual([11, 12, 13, 14, 15, 116, 117, 118, 119, 120])
    await stream.close()
  })

  it('serves a quiet key alongside a busy one: a page is per key', async () => {
    const name = uniqueName('fair')
    const [busy, quiet] = [streamKey(name, 'a'), streamKey(name, 'b')]
    for (const n of range(1, 30)) await admin.addFields(busy, ['data', JSON.stringify({ n })], `1-${n}`)
    await admin.addFields(quiet, ['data', JSON.stringify({ n: 100 })], '2-1')
    const stream = open([busy, quiet], { from: 'earliest' }, { pageSize: 10 })
    // The quiet key's entry is newer than all 30 busy ones, yet it does not wait behind them.
    expect(numbers(await stream.next())).toEqual([...range(1, 10), 100])
    expect(numbers(await stream.next())).toEqual(range(11, 20))
    await stream.close()
  })

  it('waits for live entries with one blocking read at a time, and wakes on the first one', async () => {
    const key = streamKey(uniqueName('idle'), 'a')
    await admin.add(key, [{ n: 0 }])
    const blockMs = 200
    const before = rest.commands.length
    const started = Date.now()
    const stream = open([key], { from: 'live' }, { blockMs })
    const pending = stream.next()
    const isWait = (command: readonly string[]) => command[0] === 'XREAD' && command.includes('BLOCK')
    // Three waits in a row: each one ran its full time, nothing was read in between (no busy loop).
    while (rest.commands.slice(before).filter(isWait).length < 3) await rest.waitForCommand(isWait, rest.commands.length)
    expect(Date.now() - started).toBeGreaterThanOrEqual(2 * blockMs)
    expect(rest.commands.slice(before).map((c) => c.slice(0, 2).join(' '))).toEqual([
      'XINFO STREAM',
      'XREAD COUNT',
      'XREAD COUNT',
      'XREAD COUNT',
    ])
    const waits = rest.commands.length
    await admin.add(key, [{ n: 1 }])
    expect(numbers(await pending)).toEqual([1])
    // A wait delivered it: no other read was needed to see the entry.
    expect(rest.commands.slice(waits).every(isWait)).toBe(true)
    await stream.close()
  })

  it('ends and releases its blocked request when aborted', async () => {
    const key = streamKey(uniqueName('abort'), 'a')
    const before = rest.commands.length
    const stream = open([key], { from: 'earliest' })
    const pending = stream.next().catch((error: Error) => error.message)
    await rest.waitForCommand((command) => command[0] === 'XREAD' && command.includes('BLOCK'), before)
    expect(rest.inFlight).toBe(1)
    await stream.close(pending)
    expect(await pending).toBe('the stream ended')
    await expect.poll(() => rest.inFlight, { timeout: 5000, interval: 10 }).toBe(0)
  })
})
