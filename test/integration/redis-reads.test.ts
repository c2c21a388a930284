/**
 * The Redis Streams provider on its own, against the real redis-server through the
 * Upstash REST translation: what happens between reads (trims while a client is
 * slow, idle waits) is driven step by step by pulling the iterator.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import type { ProviderItem, ResolvedRoute, StartPosition } from '../../src/providers/provider'
import { RedisStreamsProvider, type RedisStreamsOptions } from '../../src/providers/redis/redis-streams-provider'
import { nodeUpstashClient } from '../../src/providers/redis/upstash-node'
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

  /**
   * As it hands a batch over, the provider already sends the read that confirms it and fetches the
   * next one. Waiting until that read was answered puts a trim after it, so a test knows which read
   * sees the trim: the one sent as the following batch is handed over.
   */
  async function readAheadAnswered(from: number) {
    await rest.waitForCommand((command) => command[0] === 'XREAD', from)
    await expect.poll(() => rest.inFlight, { timeout: 5000, interval: 5 }).toBe(0)
  }

  const numbers = (items: ProviderItem[]) =>
    items.map((item) => (item.type === 'event' ? (JSON.parse(item.text) as { n: number }).n : item.type))
  const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i)

  it('reports a gap when the log is trimmed past unread entries while the client is slow', async () => {
    const key = streamKey(uniqueName('slow'), 'a')
    const ids = await admin.add(key, range(1, 100).map((n) => ({ n })))
    const stream = open([key], { from: 'earliest' }, { pageSize: 10 })
    const before = rest.commands.length
    expect(numbers(await stream.next())).toEqual(range(1, 10))
    await readAheadAnswered(before + 1)
    // 11..20 were read before the trim; 21..50 are trimmed before the client asks for more.
    await admin.redis.xtrim(key, 'MAXLEN', 50)
    expect(numbers(await stream.next())).toEqual(range(11, 20))
    expect(await stream.next()).toEqual([{ type: 'gap', requested: ids[19], resumedFrom: expect.any(String), reason: 'retention' }])
    expect(numbers(await stream.next())).toEqual(range(51, 60))
    await stream.close()
  })

  it('reports no gap when the trim provably took only entries the client has', async () => {
    const key = streamKey(uniqueName('trimmed-read'), 'a')
    // Explicit ids: entry 21 is 5-21, the immediate successor of 5-20, so nothing can lie between them.
    for (const n of range(1, 30)) await admin.addFields(key, ['data', JSON.stringify({ n })], `5-${n}`)
    const stream = open([key], { from: 'earliest' }, { pageSize: 10 })
    const before = rest.commands.length
    expect(numbers(await stream.next())).toEqual(range(1, 10))
    await readAheadAnswered(before + 1)
    await admin.redis.xtrim(key, 'MINID', '5-21')
    expect(numbers(await stream.next())).toEqual(range(11, 20))
    expect(numbers(await stream.next())).toEqual(range(21, 30))
    await stream.close()
  })

  it('reports a gap when its last entry was trimmed and it cannot tell what went with it', async () => {
    const key = streamKey(uniqueName('ambiguous'), 'a')
    for (const n of range(1, 30)) await admin.addFields(key, ['data', JSON.stringify({ n })], `${n}-0`)
    const stream = open([key], { from: 'earliest' }, { pageSize: 10 })
    const before = rest.commands.length
    expect(numbers(await stream.next())).toEqual(range(1, 10))
    await readAheadAnswered(before + 1)
    // Ids 20-1 … 21-… could have existed: Redis keeps no record of what a trim removed.
    await admin.redis.xtrim(key, 'MINID', '21-0')
    expect(numbers(await stream.next())).toEqual(range(11, 20))
    expect(await stream.next()).toEqual([{ type: 'gap', requested: '20-0', resumedFrom: '20-18446744073709551615', reason: 'retention' }])
    expect(numbers(await stream.next())).toEqual(range(21, 30))
    await stream.close()
  })

  it('tracks each key of a vector position through a trim of one of them', async () => {
    const name = uniqueName('vector')
    const [a, b] = [streamKey(name, 'a'), streamKey(name, 'b')]
    for (const n of range(1, 20)) await admin.addFields(a, ['data', JSON.stringify({ n })], `1-${n}`)
    for (const n of range(1, 20)) await admin.addFields(b, ['data', JSON.stringify({ n: 100 + n })], `2-${n}`)
    const stream = open([a, b], { from: 'earliest' }, { pageSize: 5 })
    const before = rest.commands.length
    const first = await stream.next()
    expect(numbers(first)).toEqual([1, 2, 3, 4, 5, 101, 102, 103, 104, 105])
    expect(first.map((item) => item.type === 'event' && item.position)).toEqual([
      ...range(1, 5).map((n) => `1-${n}~0-0`),
      ...range(1, 5).map((n) => `1-5~2-${n}`),
    ])
    await readAheadAnswered(before + 1)
    await admin.redis.xtrim(b, 'MAXLEN', 5)
    expect(numbers(await stream.next())).toEqual([6, 7, 8, 9, 10, 106, 107, 108, 109, 110])
    // Key a goes on; key b reports its gap, with a's position untouched.
    const third = await stream.next()
    expect(third[0]).toEqual({ type: 'gap', requested: '1-10~2-10', resumedFrom: '1-10~2-15', reason: 'retention' })
    expect(numbers(third.slice(1))).toEqual([11, 12, 13, 14, 15])
    expect(numbers(await stream.next())).toEqual([16, 17, 18, 19, 20, 116, 117, 118, 119, 120])
    await stream.close()
  })

  it('asks for fewer entries per read once it has seen they are large, each still once and in order', async () => {
    const key = streamKey(uniqueName('large'), 'a')
    const pad = 'x'.repeat(100_000)
    await admin.add(key, range(1, 40).map((n) => ({ n, pad })))
    // Pages of 10 entries or about 250 KB: after the first read, two of these 100 KB entries per read.
    const stream = open([key], { from: 'earliest' }, { pageSize: 10, pageBytes: 250_000 })
    const sizes: number[] = []
    const seen: number[] = []
    while (seen.length < 40) {
      const batch = await stream.next()
      sizes.push(batch.length)
      seen.push(...(numbers(batch) as number[]))
    }
    await stream.close()
    expect(seen).toEqual(range(1, 40))
    expect(sizes).toEqual([10, ...Array.from({ length: 15 }, () => 2)])
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
    // A wait delivered it: no other read was needed to see the entry (the one other read is the
    // confirm sent as it was handed over).
    expect(rest.commands.slice(waits).filter((command) => !isWait(command)).length).toBeLessThanOrEqual(1)
    await stream.close()
  })

  it('ends and releases its blocked request when aborted', async () => {
    const key = streamKey(uniqueName('abort'), 'a')
    // The requests of the tests before may still be closing on the server's side.
    await expect.poll(() => rest.inFlight, { timeout: 5000, interval: 10 }).toBe(0)
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
