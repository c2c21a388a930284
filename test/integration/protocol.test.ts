/**
 * The protocol of docs/protocol.md on the embedded memory broker: frames byte for byte, headers, resume
 * parameters, heartbeats, the graceful end, and every row of the error table.
 */
import { describe, expect, it } from 'vitest'
import { CursorCodec, parseCursorKeys, subscriptionBinding } from '../../src/cursor/codec'
import { memoryApp } from '../support/memory-app'
import { eventsQuery, streamUrl } from '../support/schemas'
import { openSse, readNextEvents } from '../support/sse-client'

const base = 'http://app.test'
const query = eventsQuery('s', 'a')
const binding = subscriptionBinding(['nats', 'default', '', 't.s.a'])
const cursorOf = (seq: number) => new CursorCodec().encode(binding, String(seq))

async function errorOf(response: Response) {
  const text = await response.text()
  expect(response.headers.get('content-type')).toMatch(/application\/json/)
  expect(text).not.toMatch(/\bat .*\(|node_modules|\.ts:\d+/)
  const body = JSON.parse(text)
  expect(body.errors).toHaveLength(1)
  expect(typeof body.errors[0].message).toBe('string')
  return { status: response.status, code: body.errors[0].extensions.code as string, message: body.errors[0].message as string }
}

describe('SSE frames', () => {
  it('opens with retry and a comment, then sends next events with their cursor as id', async () => {
    const { fetch, publish } = memoryApp()
    publish('t.s.a', [{ n: 1, label: 'x' }])
    publish('t.s.other', [{ n: 99 }])
    publish('t.s.a', [{ n: 2 }])
    const connection = await openSse(streamUrl(base, query, { from: 'earliest' }), {}, fetch)
    expect(connection.status).toBe(200)
    expect(connection.headers.get('content-type')).toBe('text/event-stream; charset=utf-8')
    expect(connection.headers.get('cache-control')).toBe('no-cache')
    expect(connection.headers.get('x-accel-buffering')).toBe('no')
    expect(connection.headers.get('connection')).toBeNull()
    expect(connection.headers.get('transfer-encoding')).toBeNull()
    await readNextEvents(connection, 2)
    connection.cut()
    expect(connection.raw()).toBe(
      'retry: 2000\n: ok\n\n' +
        `id: ${cursorOf(1)}\nevent: next\ndata: {"data":{"events":{"n":1}}}\n\n` +
        `id: ${cursorOf(3)}\nevent: next\ndata: {"data":{"events":{"n":2}}}\n\n`,
    )
  })

  it('sends the opening frame before any event exists and pings at the heartbeat interval', async () => {
    const { fetch } = memoryApp({ HEARTBEAT_SECONDS: '0.05', RETRY_MS: '1500' })
    const connection = await openSse(streamUrl(base, query), {}, fetch)
    // next() returns only events, so wait on the raw text for the ping comment.
    const pending = connection.next()
    await expect.poll(() => connection.raw(), { timeout: 5000, interval: 10 }).toContain(': ping\n\n')
    connection.cut()
    await pending
    expect(connection.raw().startsWith('retry: 1500\n: ok\n\n: ping\n\n')).toBe(true)
  })

  it('ends after MAX_STREAM_SECONDS without complete, so EventSource resumes', async () => {
    const { fetch, publish } = memoryApp({ MAX_STREAM_SECONDS: '0.2' })
    publish('t.s.a', [{ n: 1 }])
    const connection = await openSse(streamUrl(base, query, { from: 'earliest' }), {}, fetch)
    expect(await readNextEvents(connection, 5)).toHaveLength(1)
    expect(await connection.next()).toBeUndefined()
    expect(connection.raw()).not.toContain('complete')
  })

  it('resumes from Last-Event-ID, then from ?lastEventId=, header first', async () => {
    const { fetch, publish } = memoryApp()
    publish('t.s.a', [1, 2, 3, 4].map((n) => ({ n })))
    const n = (events: { data: string }[]) => events.map((e) => JSON.parse(e.data).data.events.n)

    const byHeader = await openSse(streamUrl(base, query, { lastEventId: cursorOf(1) }), { headers: { 'Last-Event-ID': cursorOf(2) } }, fetch)
    expect(n(await readNextEvents(byHeader, 2))).toEqual([3, 4])
    byHeader.cut()

    const byQuery = await openSse(streamUrl(base, query, { lastEventId: cursorOf(1) }), {}, fetch)
    expect(n(await readNextEvents(byQuery, 3))).toEqual([2, 3, 4])
    byQuery.cut()

    const byPost = await openSse(
      `${base}/graphql/stream`,
      { method: 'POST', headers: { 'content-type': 'application/json', 'Last-Event-ID': cursorOf(3) }, body: JSON.stringify({ query }) },
      fetch,
    )
    expect(n(await readNextEvents(byPost, 1))).toEqual([4])
    byPost.cut()
  })

  it('starts at the live end without a position', async () => {
    const { fetch, publish } = memoryApp()
    publish('t.s.a', [{ n: 1 }])
    const connection = await openSse(streamUrl(base, query), {}, fetch)
    publish('t.s.a', [{ n: 2 }])
    const [event] = await readNextEvents(connection, 1)
    connection.cut()
    expect(JSON.parse(event!.data)).toEqual({ data: { events: { n: 2 } } })
  })

  it('reports a gap after retention, then continues from the earliest retained event', async () => {
    const { fetch, broker } = memoryApp()
    // The memory broker keeps 100,000 events: publish past that to cut its head.
    for (let n = 1; n <= 100_010; n++) broker.publish('t.s.a', `{"n":${n}}`)
    const connection = await openSse(streamUrl(base, query), { headers: { 'Last-Event-ID': cursorOf(5) } }, fetch)
    const gap = await connection.next()
    expect(gap).toEqual({
      event: 'gap',
      data: JSON.stringify({ requested: cursorOf(5), resumedFrom: cursorOf(10), reason: 'retention' }),
    })
    const [first] = await readNextEvents(connection, 1)
    connection.cut()
    expect(first!.id).toBe(cursorOf(11))
    expect(connection.raw()).not.toMatch(/id: [^\n]*\nevent: gap/)
  })

  it('gives an event whose payload is not JSON a GraphQL error, and goes on', async () => {
    const { fetch, broker } = memoryApp()
    broker.publish('t.s.a', 'not json')
    broker.publish('t.s.a', '{"n":2}')
    const connection = await openSse(streamUrl(base, query, { from: 'earliest' }), {}, fetch)
    const [bad, good] = await readNextEvents(connection, 2)
    connection.cut()
    expect(JSON.parse(bad!.data)).toEqual({ data: null, errors: [{ message: 'The event payload is not valid JSON', path: ['events'] }] })
    expect(bad!.id).toBe(cursorOf(1))
    expect(JSON.parse(good!.data)).toEqual({ data: { events: { n: 2 } } })
  })
})

describe('errors before the stream', () => {
  const { app } = memoryApp({ CURSOR_KEYS: 'k1:0123456789abcdef0123' })
  const get = (params: Record<string, string>, headers: Record<string, string> = {}) =>
    app.request(`/graphql/stream?${new URLSearchParams(params)}`, { headers })
  const signed = new CursorCodec(parseCursorKeys('k1:0123456789abcdef0123')).encode(binding, '5')

  it.each([
    ['missing query', {}, 400, 'BAD_REQUEST'],
    ['empty query', { query: '' }, 400, 'BAD_REQUEST'],
    ['unparsable variables', { query, variables: '{nope' }, 400, 'BAD_REQUEST'],
    ['variables not an object', { query, variables: '[1]' }, 400, 'BAD_REQUEST'],
    ['unparsable extensions', { query, extensions: 'x' }, 400, 'BAD_REQUEST'],
    ['GraphQL syntax error', { query: 'subscription {' }, 400, 'GRAPHQL_PARSE_FAILED'],
    ['unknown field', { query: 'subscription { nope }' }, 400, 'GRAPHQL_VALIDATION_FAILED'],
    ['two root fields', { query: 'subscription { a: events(stream:"s",topic:"a"){n} b: events(stream:"s",topic:"b"){n} }' }, 400, 'GRAPHQL_VALIDATION_FAILED'],
    ['unknown operationName', { query, operationName: 'Nope' }, 400, 'UNKNOWN_OPERATION'],
    ['a query', { query: '{ ok }' }, 400, 'NOT_A_SUBSCRIPTION'],
    ['a mutation', { query: 'mutation { ok }' }, 400, 'NOT_A_SUBSCRIPTION'],
    ['a wildcard argument', { query: eventsQuery('s', '*') }, 400, 'INVALID_ARGUMENT'],
    ['a full wildcard argument', { query: eventsQuery('s', '>') }, 400, 'INVALID_ARGUMENT'],
    ['a dotted argument', { query: eventsQuery('s', 'a.b') }, 400, 'INVALID_ARGUMENT'],
    ['an unknown from', { query, from: 'yesterday' }, 400, 'BAD_REQUEST'],
  ])('%s → %i %s', async (_name, params, status, code) => {
    expect(await errorOf(await get(params as Record<string, string>))).toMatchObject({ status, code })
  })

  it.each([
    ['malformed', 'garbage'],
    ['unsigned where keys are set', cursorOf(5)],
    ['forged (position changed)', signed.replace('.5.', '.6.')],
    ['foreign (another subscription)', new CursorCodec(parseCursorKeys('k1:0123456789abcdef0123')).encode(subscriptionBinding(['nats', 'default', '', 't.s.b']), '5')],
    ['a position no provider writes', new CursorCodec(parseCursorKeys('k1:0123456789abcdef0123')).encode(binding, '-1')],
  ])('a %s cursor → 400 INVALID_CURSOR', async (_name, cursor) => {
    expect(await errorOf(await get({ query }, { 'Last-Event-ID': cursor }))).toMatchObject({ status: 400, code: 'INVALID_CURSOR' })
    expect(await errorOf(await get({ query, lastEventId: cursor }))).toMatchObject({ status: 400, code: 'INVALID_CURSOR' })
  })

  it('accepts a valid signed cursor', async () => {
    const response = await get({ query }, { 'Last-Event-ID': signed })
    expect(response.status).toBe(200)
    await response.body?.cancel()
  })

  it('refuses a POST body that is not a JSON object', async () => {
    for (const body of ['{nope', '[1]', 'null']) {
      const response = await app.request('/graphql/stream', { method: 'POST', headers: { 'content-type': 'application/json' }, body })
      expect(await errorOf(response)).toMatchObject({ status: 400, code: 'BAD_REQUEST' })
    }
  })

  it.each(['PUT', 'DELETE', 'PATCH', 'HEAD'])('%s → 405 with Allow', async (method) => {
    const response = await app.request(`/graphql/stream?${new URLSearchParams({ query })}`, { method })
    expect(response.headers.get('allow')).toBe('GET, POST, OPTIONS')
    // A HEAD answer has no body to read.
    if (method === 'HEAD') expect(response.status).toBe(405)
    else expect(await errorOf(response)).toMatchObject({ status: 405, code: 'METHOD_NOT_ALLOWED' })
  })

  it('answers an unknown path with 404 JSON', async () => {
    expect(await errorOf(await app.request('/nope'))).toMatchObject({ status: 404, code: 'NOT_FOUND' })
  })
})
