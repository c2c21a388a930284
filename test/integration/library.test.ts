/**
 * The package as a library: the stream route mounted inside a user's own Hono app,
 * built from the package's public exports only, against the real nats-server.
 */
import { Hono } from 'hono'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { connectionPerStream, createApp, JetStreamProvider, loadEdfsSchema, providerKey, type AppOptions } from '../../src/index'
import { connectJetStream, type JetStreamAdmin } from '../support/jetstream'
import { eventsQuery, streamUrl, testSchema } from '../support/schemas'
import { openSse, readNextEvents } from '../support/sse-client'
import { uniqueName } from '../support/random'

const numbers = (events: { data: string }[]) => events.map((e) => JSON.parse(e.data).data.events.n as number)

describe('createApp mounted in another Hono app', () => {
  let admin: JetStreamAdmin
  let options: AppOptions

  beforeAll(async () => {
    admin = await connectJetStream(inject('natsWsUrl'))
    options = {
      schema: loadEdfsSchema(testSchema),
      providers: new Map([[providerKey('nats', 'default'), new JetStreamProvider(connectionPerStream({ servers: [inject('natsWsUrl')] }))]]),
    }
  })
  afterAll(async () => {
    await admin?.close()
  })

  /** The user's app: its own route, its own guard in front of the stream, and the stream route. */
  function userApp(prefix: string) {
    const app = new Hono()
    app.get('/health', (c) => c.text('ok'))
    app.use(`${prefix}/graphql/*`, async (c, next) => {
      if (c.req.header('X-Api-Key') !== 'let-me-in') return c.json({ error: 'no key' }, 401)
      await next()
    })
    app.route(prefix || '/', createApp(options))
    return (url: string, init?: RequestInit) => app.fetch(new Request(new URL(url, 'http://user.app'), init))
  }

  it.each([
    ['at the root', ''],
    ['under a prefix', '/events'],
  ])('serves and resumes the stream %s, behind the host app’s own middleware', async (_where, prefix) => {
    const fetch = userApp(prefix)
    const stream = uniqueName('library')
    await admin.createStream({ name: stream, subjects: [`t.${stream}.>`] })
    await admin.publish(`t.${stream}.a`, Array.from({ length: 20 }, (_, i) => ({ n: i + 1 })))
    const url = streamUrl(prefix, eventsQuery(stream, 'a'))
    const key = { 'X-Api-Key': 'let-me-in' }

    expect(await (await fetch('/health')).text()).toBe('ok')
    expect((await fetch(url)).status).toBe(401)

    const first = await openSse(`${url}&from=earliest`, { headers: key }, fetch)
    expect(first.headers.get('content-type')).toBe('text/event-stream; charset=utf-8')
    const before = await readNextEvents(first, 8)
    first.cut()
    const second = await openSse(url, { headers: { ...key, 'Last-Event-ID': before.at(-1)!.id! } }, fetch)
    const after = await readNextEvents(second, 12)
    second.cut()
    expect([...numbers(before), ...numbers(after)]).toEqual(Array.from({ length: 20 }, (_, i) => i + 1))
  })

  it('keeps its error answers inside the host app and leaves other paths to the host', async () => {
    const fetch = userApp('')
    const invalid = await fetch(streamUrl('', 'subscription { nope }'), { headers: { 'X-Api-Key': 'let-me-in' } })
    expect(invalid.status).toBe(400)
    expect(await invalid.json()).toMatchObject({ errors: [{ extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } }] })
    const put = await fetch('/graphql/stream', { method: 'PUT', headers: { 'X-Api-Key': 'let-me-in' } })
    expect(put.status).toBe(405)
    // A path the stream app does not serve is the host's: Hono's own 404, not ours.
    const other = await fetch('/elsewhere')
    expect(other.status).toBe(404)
    expect(await other.text()).toBe('404 Not Found')
  })
})
