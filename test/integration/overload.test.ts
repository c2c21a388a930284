/**
 * MAX_STREAMS on the embedded memory broker, in process: past the limit a new stream is refused
 * with 503, Retry-After and the JSON error before its provider is opened; the open streams go on;
 * a slot is free again as soon as a stream ends, whichever way it ends.
 */
import { describe, expect, it } from 'vitest'
import { createApp } from '../../src/app'
import { ConfigError } from '../../src/config/env'
import { readEnv } from '../../src/config/read-env'
import { loadEdfsSchema } from '../../src/graphql/schema'
import { MemoryBroker, MemoryProvider } from '../../src/providers/memory/memory-provider'
import { providerKey, type Provider } from '../../src/providers/provider'
import { eventsQuery, streamUrl, testSchema } from '../support/schemas'
import { openSse, readNextEvents, type SseConnection } from '../support/sse-client'

const base = 'http://app.test'

/** The app with MAX_STREAMS `max` on a memory broker whose provider counts how often it was opened. */
function limitedApp(max: number, options: { maxStreamMs?: number } = {}) {
  const broker = new MemoryBroker()
  const memory = new MemoryProvider(broker)
  const counts = { opened: 0 }
  const provider: Provider = {
    isValidPosition: (position) => memory.isValidPosition(position),
    comparePositions: memory.comparePositions,
    open(route, start, signal) {
      counts.opened++
      return memory.open(route, start, signal)
    },
  }
  const lines: string[] = []
  const app = createApp({
    schema: loadEdfsSchema(testSchema),
    providers: new Map([[providerKey('nats', 'default'), provider]]),
    maxStreams: max,
    retryMs: 2000,
    ...options,
    log: (level, event) => lines.push(`${level} ${event}`),
  })
  const fetch = (url: string, init?: RequestInit) => app.fetch(new Request(new URL(url, base), init))
  const open = (topic: string, params: Record<string, string> = {}) => openSse(streamUrl(base, eventsQuery('s', topic), params), {}, fetch)
  const publish = (topic: string, n: number) => broker.publish(`t.s.${topic}`, JSON.stringify({ n }))
  return { fetch, open, publish, counts, lines }
}

async function refusal(connection: SseConnection) {
  expect(connection.headers.get('content-type')).toMatch(/application\/json/)
  const body = JSON.parse(connection.raw() || (await rawBody(connection)))
  return { status: connection.status, retryAfter: connection.headers.get('retry-after'), body }
}

/** The whole body of a response that is not an event stream. */
async function rawBody(connection: SseConnection): Promise<string> {
  while (await connection.next()) {
    // a JSON body has no blank line: it is all read once the response ends
  }
  return connection.raw()
}

describe('MAX_STREAMS', () => {
  it('refuses a stream past the limit with 503, Retry-After and OVERLOADED, before any broker I/O; the open streams go on', async () => {
    const { open, publish, counts, lines } = limitedApp(3)
    const streams = [await open('a'), await open('b'), await open('c')]
    publish('a', 1)
    publish('b', 1)
    publish('c', 1)
    for (const stream of streams) expect((await readNextEvents(stream, 1)).map((e) => JSON.parse(e.data).data.events.n)).toEqual([1])
    expect(counts.opened).toBe(3)

    const refused = await open('d')
    const { status, retryAfter, body } = await refusal(refused)
    expect(status).toBe(503)
    // RETRY_MS 2000 with its jitter (up to as much again), in whole seconds.
    expect(Number(retryAfter)).toBeGreaterThanOrEqual(2)
    expect(Number(retryAfter)).toBeLessThanOrEqual(4)
    expect(body).toEqual({ errors: [{ message: 'The server holds its maximum of 3 streams; retry later', extensions: { code: 'OVERLOADED' } }] })
    expect(counts.opened, 'the refused stream never reached its provider').toBe(3)
    expect(lines.filter((line) => line === 'warn stream.overloaded')).toHaveLength(1)
    expect(lines.filter((line) => line === 'info stream.open')).toHaveLength(3)

    // Untouched: the open streams get what comes next, in order.
    publish('a', 2)
    publish('b', 2)
    publish('c', 2)
    for (const stream of streams) expect((await readNextEvents(stream, 1)).map((e) => JSON.parse(e.data).data.events.n)).toEqual([2])
    for (const stream of streams) stream.cut()
  })

  it('takes a stream again once one ended, whether the client left or the server ended it', async () => {
    const { open, publish, counts } = limitedApp(2, { maxStreamMs: 300 })
    const first = await open('a')
    const second = await open('b')
    expect((await open('c')).status).toBe(503)

    // The client leaves: the request's signal tells the app at once.
    first.cut()
    const third = await open('c')
    expect(third.status).toBe(200)
    publish('c', 7)
    expect((await readNextEvents(third, 1)).map((e) => JSON.parse(e.data).data.events.n)).toEqual([7])

    // The server ends a stream (MAX_STREAM_SECONDS): its slot is free by the time the response ends.
    expect(await readNextEvents(second, 1)).toEqual([])
    const fourth = await open('d')
    expect(fourth.status).toBe(200)
    expect(counts.opened).toBe(4)
    third.cut()
    fourth.cut()
  })

  it('answers a bad request with its 4xx even when full: the limit is checked last', async () => {
    const { open, fetch } = limitedApp(1)
    const held = await open('a')
    const bad = await fetch(`${base}/graphql/stream?${new URLSearchParams({ query: 'subscription { nope }' })}`)
    expect(bad.status).toBe(400)
    await bad.body?.cancel()
    expect((await open('b')).status).toBe(503)
    held.cut()
  })

  it('reads MAX_STREAMS as a whole number; 0 is no limit', () => {
    const env = { SCHEMA: testSchema, NATS_DEFAULT_URL: 'memory:' }
    expect(readEnv(env).maxStreams).toBe(0)
    expect(readEnv({ ...env, MAX_STREAMS: '250' }).maxStreams).toBe(250)
    for (const bad of ['-1', 'many', '1.5']) {
      expect(() => readEnv({ ...env, MAX_STREAMS: bad })).toThrow(ConfigError)
      expect(() => readEnv({ ...env, MAX_STREAMS: bad })).toThrow(/^MAX_STREAMS: must be a whole number from 0 to 1000000/)
    }
  })
})
