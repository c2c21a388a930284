/**
 * LiveFanout over vector positions, against the real redis-server (through the Upstash REST
 * server): a stream that joined the shared reader ahead of it in one key, and is then passed by it
 * in the other key, returns to a reader of its own and still gets every event once, in order.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import type { Provider, ProviderItem, ResolvedRoute, StartPosition } from '../../src/providers/provider'
import { RedisStreamsProvider } from '../../src/providers/redis/redis-streams-provider'
import { nodeUpstashClient } from '../../src/providers/redis/upstash-node'
import { LiveFanout } from '../../src/providers/shared/live-fanout'
import { uniqueName } from '../support/random'
import { RedisAdmin, streamKey } from '../support/redis'
import { startUpstashRestServer, type UpstashRestServer } from '../support/upstash-rest-server'

/** The Redis provider, recording each reader's start; the shared (live) reader can be held after its next batch. */
class HoldableLive implements Provider {
  readonly starts: StartPosition[] = []
  private holdAfterNext = false
  private held: Promise<void> | undefined
  private releaseHeld: (() => void) | undefined

  constructor(private readonly inner: Provider) {}

  get comparePositions(): Provider['comparePositions'] {
    return this.inner.comparePositions
  }

  isValidPosition(position: string, route: ResolvedRoute): boolean {
    return this.inner.isValidPosition(position, route)
  }

  async *open(route: ResolvedRoute, start: StartPosition, signal: AbortSignal): AsyncIterable<ProviderItem[]> {
    this.starts.push(start)
    for await (const batch of this.inner.open(route, start, signal)) {
      yield batch
      // Not pulling the next batch keeps the provider's next read from starting.
      if (start.from === 'live' && this.holdAfterNext) {
        this.holdAfterNext = false
        await this.held
      }
    }
  }

  holdAfterNextBatch(): void {
    this.holdAfterNext = true
    this.held = new Promise((resolve) => (this.releaseHeld = resolve))
  }

  release(): void {
    this.releaseHeld?.()
  }
}

/** A stream reading in the background, keeping its events' texts and positions. */
function follow(provider: Provider, route: ResolvedRoute, start: StartPosition, signal: AbortSignal) {
  const events: { text: string; position: string | undefined }[] = []
  void (async () => {
    for await (const batch of provider.open(route, start, signal)) {
      for (const item of batch) if (item.type === 'event') events.push({ text: item.text, position: item.position })
    }
  })()
  return events
}

describe('LiveFanout over Redis positions (entry ids per key)', () => {
  let rest: UpstashRestServer
  let admin: RedisAdmin

  beforeAll(async () => {
    rest = await startUpstashRestServer(inject('redisPort'))
    admin = new RedisAdmin(inject('redisPort'))
  })
  afterAll(async () => {
    await rest?.close()
    admin?.close()
  })

  it('a joined stream passed by the shared reader in one key while ahead in the other reads on its own again: every event once, in order', async () => {
    const stream = uniqueName('vectors')
    const [a, b] = [streamKey(stream, 'a'), streamKey(stream, 'b')]
    const route: ResolvedRoute = { kind: 'redis', providerId: 'cache', names: [a, b] }
    const redis = new RedisStreamsProvider((signal) => nodeUpstashClient({ url: rest.url, token: rest.token }, signal), { blockMs: 1000 })
    const recorded = new HoldableLive(redis)
    const fanout = new LiveFanout(recorded)
    const controller = new AbortController()
    const add = (key: string, id: string, text: string) => admin.addFields(key, ['data', text], id)
    try {
      // The shared reader starts with a live stream and delivers a1; it then stays after that batch, its next read not started.
      const live = follow(fanout, route, { from: 'live' }, controller.signal)
      await rest.waitForCommand((command) => command[0] === 'XREAD' && command.includes(a))
      recorded.holdAfterNextBatch()
      await add(a, '10-0', '"a1"')
      await expect.poll(() => live.map((e) => e.text)).toEqual(['"a1"'])
      await expect.poll(() => rest.inFlight).toBe(0)

      // A stream resumed after a1 reads a2 on its own: ahead of the shared reader in key a, level in b, it joins.
      const resumed = follow(fanout, route, { from: 'after', position: live[0]!.position! }, controller.signal)
      await add(a, '100-0', '"a2"')
      await expect.poll(() => resumed.map((e) => e.text)).toEqual(['"a2"'])
      await expect.poll(() => recorded.starts.length).toBe(2)

      // b1 has an id below a2's: the shared reader's next read delivers it first, at a position behind the
      // resumed stream's in key a and ahead in key b. The stream cannot take it there: it reads on its own again.
      await add(b, '50-0', '"b1"')
      recorded.release()
      await expect.poll(() => live.map((e) => e.text)).toEqual(['"a1"', '"b1"', '"a2"'])
      await expect.poll(() => resumed.map((e) => e.text)).toEqual(['"a2"', '"b1"'])
      expect(recorded.starts[2]).toEqual({ from: 'after', position: '100-0~0-0' })
      expect(resumed.map((e) => e.position)).toEqual(['100-0~0-0', '100-0~50-0'])

      // Level again, it shares the reader: what follows comes once.
      await add(b, '200-0', '"b2"')
      await expect.poll(() => resumed.map((e) => e.text)).toEqual(['"a2"', '"b1"', '"b2"'])
      await expect.poll(() => live.map((e) => e.text)).toEqual(['"a1"', '"b1"', '"a2"', '"b2"'])
    } finally {
      controller.abort()
    }
  })
})
