/** Every request limit, end to end on the memory broker: a clear 4xx in the protocol's error shape, never a 5xx. */
import { describe, expect, it } from 'vitest'
import { memoryApp } from '../support/memory-app'
import { eventsQuery } from '../support/schemas'

const query = eventsQuery('s', 'a')

async function errorOf(response: Response) {
  if (!response.headers.get('content-type')?.includes('application/json')) await response.body?.cancel()
  expect(response.headers.get('content-type')).toMatch(/application\/json/)
  const body = await response.json()
  return { status: response.status, code: body.errors[0].extensions.code as string, message: body.errors[0].message as string }
}

const post = (body: unknown) => ({ method: 'POST', headers: { 'content-type': 'application/json' }, body: typeof body === 'string' ? body : JSON.stringify(body) })

describe('request limits', () => {
  const { app } = memoryApp()

  it('a URL longer than MAX_URL_LENGTH → 414', async () => {
    const response = await app.request(`/graphql/stream?${new URLSearchParams({ query, pad: 'x'.repeat(13_000) })}`)
    expect(await errorOf(response)).toMatchObject({ status: 414, code: 'REQUEST_TOO_LARGE', message: 'The request URL is longer than 12288 characters' })
  })

  it('a query larger than MAX_QUERY_BYTES → 413, counted in UTF-8 bytes', async () => {
    const padded = `${query} # ${'é'.repeat(4100)}`
    expect(padded.length).toBeLessThan(8192)
    expect(await errorOf(await app.request('/graphql/stream', post({ query: padded })))).toMatchObject({ status: 413, code: 'REQUEST_TOO_LARGE', message: 'The query is larger than 8192 bytes' })
  })

  it('variables larger than MAX_VARIABLES_BYTES → 413, as JSON text (GET) or object (POST)', async () => {
    const variables = { pad: 'x'.repeat(5000) }
    const get = await app.request(`/graphql/stream?${new URLSearchParams({ query, variables: JSON.stringify(variables) })}`)
    expect(await errorOf(get)).toMatchObject({ status: 413, message: 'The variables are larger than 4096 bytes' })
    expect(await errorOf(await app.request('/graphql/stream', post({ query, variables })))).toMatchObject({ status: 413 })
  })

  it('POST variables nested too deeply to serialize → 413, not a stack overflow', async () => {
    const deep = `{"query":${JSON.stringify(query)},"variables":{"v":${'['.repeat(6000)}${']'.repeat(6000)}}}`
    expect(await errorOf(await app.request('/graphql/stream', post(deep)))).toMatchObject({ status: 413, message: 'The variables are larger than 4096 bytes' })
  })

  it('a POST body larger than query + variables + 4 KiB → 413, even without Content-Length', async () => {
    expect(await errorOf(await app.request('/graphql/stream', post({ query, pad: 'x'.repeat(17_000) })))).toMatchObject({ status: 413, message: 'The request body is larger than 16384 bytes' })
    const chunks = new ReadableStream({
      start(controller) {
        for (let i = 0; i < 20; i++) controller.enqueue(new TextEncoder().encode(' '.repeat(1000)))
        controller.close()
      },
    })
    const streamed = await app.fetch(new Request('http://app.test/graphql/stream', { method: 'POST', body: chunks, duplex: 'half' } as RequestInit))
    expect(await errorOf(streamed)).toMatchObject({ status: 413 })
  })

  it.each([
    ['depth', { MAX_QUERY_DEPTH: '1' }, query, /nests fields more than 1 levels/],
    ['fields', { MAX_QUERY_FIELDS: '3' }, eventsQuery('s', 'a', 'n label __typename'), /more than 3 fields/],
    ['aliases', { MAX_QUERY_ALIASES: '1' }, eventsQuery('s', 'a', 'x: n y: label'), /more than 1 aliases/],
  ])('a query over MAX_QUERY_%s → 400', async (_name, env, tooMuch, message) => {
    const limited = memoryApp(env).app
    const response = await limited.request(`/graphql/stream?${new URLSearchParams({ query: tooMuch })}`)
    expect(await errorOf(response)).toMatchObject({ status: 400, code: 'GRAPHQL_VALIDATION_FAILED', message: expect.stringMatching(message) })
  })

  it('exactly one root field per request, whatever @skip/@include or aliases do', async () => {
    for (const many of [
      'subscription { a: events(stream: "s", topic: "a") { n } b: events(stream: "s", topic: "b") { n } }',
      'subscription { events(stream: "s", topic: "a") @skip(if: true) { n } }',
      'subscription A { events(stream: "s", topic: "a") { n } } subscription B { events(stream: "s", topic: "b") { n } }',
    ]) {
      expect((await errorOf(await app.request(`/graphql/stream?${new URLSearchParams({ query: many })}`))).status).toBe(400)
    }
  })

  // The largest MAX_QUERY_BYTES allowed: nesting, fragments and chains of it must still fail cleanly.
  const largest = memoryApp({ MAX_QUERY_BYTES: '32768', MAX_QUERY_DEPTH: '100', MAX_QUERY_FIELDS: '10000' }).app

  it('nesting that overflows graphql-js’s recursive parser → 400, not 500', async () => {
    for (const deep of [`subscription ${'{a'.repeat(5000)}${'}'.repeat(5000)}`, `subscription { events(stream: ${'['.repeat(10_000)}) }`]) {
      expect(await errorOf(await largest.request('/graphql/stream', post({ query: deep })))).toMatchObject({ status: 400, message: expect.stringMatching(/nests/) })
    }
  })

  it('a fragment bomb → 400 at once', async () => {
    const fragments = Array.from({ length: 30 }, (_, i) => `fragment F${i} on Event { n ...F${i + 1} ...F${i + 1} }`).join(' ')
    const bomb = `subscription { events(stream: "s", topic: "a") { ...F0 } } ${fragments} fragment F30 on Event { n }`
    const started = performance.now()
    expect(await errorOf(await app.request('/graphql/stream', post({ query: bomb })))).toMatchObject({ status: 400 })
    expect(performance.now() - started).toBeLessThan(500)
  })

  it('a fragment chain as long as the largest allowed query → a 4xx, not a stack overflow', async () => {
    const count = 1000
    const chain = Array.from({ length: count }, (_, i) => `fragment F${i} on Event{...F${i + 1}}`).join('')
    const query = `subscription{events(stream:"s",topic:"a"){...F0}}${chain}fragment F${count} on Event{n}`
    expect(query.length).toBeLessThan(32_768)
    const response = await largest.request('/graphql/stream', post({ query }))
    expect(response.status).toBeLessThan(500)
    await response.body?.cancel()
  })
})
