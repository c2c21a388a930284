/**
 * The test client must reconnect as a browser's EventSource does, or the
 * reliability figures would measure a different client: a scripted server plays
 * each connection's bytes and records the Last-Event-ID it was sent.
 */
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { ResumingEventSource, type DispatchedEvent } from '../../../support/faults/eventsource-client'

let server: Server | undefined
afterEach(() => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())))

/** A response other than a 200 event stream. */
interface Scripted {
  status: number
  headers: Record<string, string>
  body: string
}

/** Answers connection i with `bodies[i]` (a string: status 200, text/event-stream), or a 204 once they run out. */
async function scripted(bodies: (string | Scripted)[]): Promise<{ url: string; lastEventIds: (string | undefined)[] }> {
  const lastEventIds: (string | undefined)[] = []
  server = createServer((req, res) => {
    const body = bodies[lastEventIds.length]
    lastEventIds.push(req.headers['last-event-id'] as string | undefined)
    if (body === undefined) return res.writeHead(204).end()
    if (typeof body !== 'string') return res.writeHead(body.status, body.headers).end(body.body)
    res.writeHead(200, { 'Content-Type': 'text/event-stream' }).end(body)
  })
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve))
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, lastEventIds }
}

function collect(url: string, options: { cutAfter?: () => number | undefined; retryOverloaded?: boolean } = {}) {
  const events: DispatchedEvent[] = []
  const source = new ResumingEventSource({ url, maxRetryMs: 50, onEvent: (event) => events.push(event), ...options })
  return { events, source }
}

describe('ResumingEventSource', () => {
  it('sends the id of the last dispatched event; events without an id keep it', async () => {
    const { url, lastEventIds } = await scripted([
      'retry: 10\n\nid: a\nevent: next\ndata: 1\n\nevent: gap\ndata: {}\n\n',
      'id: b\ndata: 2\n\nid: c\ndata: 3',
    ])
    const { events, source } = collect(url)
    await source.finished()
    expect(lastEventIds).toEqual([undefined, 'a', 'b'])
    // The third connection got a 204, which fails an EventSource for good; `id: c` never dispatched.
    expect(source.stats.failed).toMatch(/^204/)
    expect(events.map((e) => [e.type, e.data, e.lastEventId])).toEqual([
      ['next', '1', 'a'],
      ['gap', '{}', 'a'],
      ['message', '2', 'b'],
    ])
  })

  it('takes retry: as its reconnection time and joins multi-line data', async () => {
    const { url } = await scripted(['retry: 7\ndata: x\ndata: y\n\n'])
    const { events, source } = collect(url)
    await source.finished()
    expect(source.reconnectionMs).toBe(7)
    expect(events.map((e) => e.data)).toEqual(['x\ny'])
  })

  it('a cut loses what followed in flight and resumes after the last event it dispatched', async () => {
    const { url, lastEventIds } = await scripted(['id: 1\ndata: a\n\nid: 2\ndata: b\n\nid: 3\ndata: c\n\n', 'id: 4\ndata: d\n\n'])
    const { events, source } = collect(url, { cutAfter: () => 1 })
    await source.finished()
    expect(events.map((e) => e.data)).toEqual(['a', 'd'])
    expect(lastEventIds.slice(0, 2)).toEqual([undefined, '1'])
    expect(source.stats.cuts).toBe(2)
  })

  const overloaded = (retryAfter: string, code = 'OVERLOADED'): Scripted => ({
    status: 503,
    headers: { 'Content-Type': 'application/json', 'Retry-After': retryAfter },
    body: JSON.stringify({ errors: [{ message: 'full', extensions: { code } }] }),
  })

  it('fails for good on a 503, as EventSource does', async () => {
    const { url, lastEventIds } = await scripted([overloaded('0'), 'data: never\n\n'])
    const { events, source } = collect(url)
    await source.finished()
    expect(source.stats.failed).toMatch(/^503 application\/json/)
    expect(lastEventIds).toHaveLength(1)
    expect(events).toEqual([])
  })

  it('with retryOverloaded, tries a 503 OVERLOADED with Retry-After again, as an application would', async () => {
    const { url, lastEventIds } = await scripted([overloaded('0'), overloaded('0'), 'id: 1\ndata: a\n\n', overloaded('0', 'UPSTREAM_UNAVAILABLE')])
    const { events, source } = collect(url, { retryOverloaded: true })
    await source.finished()
    expect(source.stats.overloaded).toBe(2)
    expect(events.map((e) => e.data)).toEqual(['a'])
    expect(lastEventIds).toEqual([undefined, undefined, undefined, '1'])
    // Any other 503 is still a failure.
    expect(source.stats.failed).toMatch(/^503 .*UPSTREAM_UNAVAILABLE/)
  })
})
