/**
 * A subject no JetStream stream captures, against the real nats-server: the response bytes are
 * docs/protocol.md's frames exactly (the opening, the in-band `no-history`, an event without id),
 * for a stream reading on its own and for streams sharing one reader, POST streams without the
 * notice, and the log line names the stream.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { readFileSync } from 'node:fs'
import { createApp, JetStreamProvider, LiveFanout, loadEdfsSchema, providerKey, type Provider } from '../../src/index'
import { connectionPerStream, sharedConnection } from '../../src/providers/nats/nats-connection'
import { connectJetStream, type JetStreamAdmin } from '../support/jetstream'
import { uniqueName } from '../support/random'
import { openSse } from '../support/sse-client'

const protocol = readFileSync(new URL('../../docs/protocol.md', import.meta.url), 'utf8')

/** The first code block of protocol.md after `after`, as the bytes on the wire. */
function documentedFrames(after: string): string {
  const start = protocol.indexOf(after)
  expect(start, `docs/protocol.md has no "${after}"`).toBeGreaterThanOrEqual(0)
  const block = /```\n([\s\S]*?)```/.exec(protocol.slice(start))?.[1]
  if (block === undefined) throw new Error(`docs/protocol.md has no frames after "${after}"`)
  return block
}

interface Logged {
  level: string
  event: string
  fields: Record<string, unknown>
}

describe('subjects without history (docs/protocol.md)', () => {
  let admin: JetStreamAdmin
  const natsUrl = inject('natsWsUrl')
  const prefix = uniqueName('nohistory')
  const subject = `${prefix}.1`
  const schema = loadEdfsSchema(/* GraphQL */ `
    type Employee { id: Int! name: String! }
    type Query { ok: Boolean }
    type Subscription {
      employeeUpdated(id: Int!): Employee! @edfs__natsSubscribe(subjects: ["${prefix}.{{ args.id }}"], providerId: "default")
    }
  `)
  const query = 'subscription { employeeUpdated(id: 1) { id name } }'
  const opening = documentedFrames('The first bytes leave at once')
  const documented = documentedFrames('## Streams without history').replace('<subject>', subject)
  const notice = documented.slice(0, documented.indexOf('event: next'))

  beforeAll(async () => {
    admin = await connectJetStream(natsUrl)
  })
  afterAll(async () => {
    await admin?.close()
  })

  function appWith(provider: Provider, logs: Logged[]) {
    return createApp({
      schema,
      providers: new Map([[providerKey('nats', 'default'), provider]]),
      // No heartbeat comes between the frames compared.
      heartbeatMs: 600_000,
      log: (level, event, fields = {}) => logs.push({ level, event, fields }),
    })
  }

  /** Opens a stream and reads its first event, the `no-history` notice: the server has the subscription then. */
  async function openUntilNotice(app: ReturnType<typeof appWith>) {
    const connection = await openSse(`http://app.test/graphql/stream?${new URLSearchParams({ query })}`, {}, (url, init) => app.request(url, init))
    expect(connection.status).toBe(200)
    expect((await connection.next())?.event).toBe('no-history')
    return connection
  }

  it('tells each stream in-band, before its events, with the frames of the doc byte for byte', async () => {
    const logs: Logged[] = []
    const app = appWith(new JetStreamProvider(connectionPerStream({ servers: [natsUrl] })), logs)
    const stream = await openUntilNotice(app)
    try {
      expect(stream.raw()).toBe(opening + notice)
      admin.nc.publish(subject, JSON.stringify({ id: 1, name: 'Ada' }))
      expect((await stream.next())?.event).toBe('next')
      expect(stream.raw()).toBe(opening + documented)
    } finally {
      stream.cut()
    }
    const opened = logs.find((line) => line.event === 'stream.open')
    const noHistory = logs.filter((line) => line.event === 'stream.no_history')
    expect(noHistory).toEqual([
      { level: 'warn', event: 'stream.no_history', fields: { streamId: opened?.fields.streamId, subjects: [subject], delivery: 'at-most-once' } },
    ])
    expect(opened?.fields.streamId).toBeTypeOf('string')
  })

  it('serves a POST stream (graphql-sse’s client) without the notice, which that client would fail on', async () => {
    const logs: Logged[] = []
    const app = appWith(new JetStreamProvider(connectionPerStream({ servers: [natsUrl] })), logs)
    const stream = await openSse(
      'http://app.test/graphql/stream',
      { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ query }) },
      (url, init) => app.request(url, init),
    )
    try {
      expect(stream.status).toBe(200)
      // The log line comes once the notice passed the relay: the server has the subscription then.
      await expect.poll(() => logs.some((line) => line.event === 'stream.no_history'), { timeout: 10_000, interval: 10 }).toBe(true)
      admin.nc.publish(subject, JSON.stringify({ id: 1, name: 'Ada' }))
      expect((await stream.next())?.event).toBe('next')
      expect(stream.raw()).toBe(opening + documented.slice(notice.length))
    } finally {
      stream.cut()
    }
  })

  it('tells a stream that joins a shared live reader too, as the first one was told', async () => {
    const logs: Logged[] = []
    const app = appWith(new LiveFanout(new JetStreamProvider(sharedConnection({ servers: [natsUrl] }))), logs)
    const first = await openUntilNotice(app)
    const second = await openUntilNotice(app)
    try {
      expect([first.raw(), second.raw()]).toEqual([opening + notice, opening + notice])
      admin.nc.publish(subject, JSON.stringify({ id: 1, name: 'Ada' }))
      for (const stream of [first, second]) {
        expect((await stream.next())?.event).toBe('next')
        expect(stream.raw()).toBe(opening + documented)
      }
    } finally {
      first.cut()
      second.cut()
    }
    // One line per stream, each with its own id.
    const opened = logs.filter((line) => line.event === 'stream.open').map((line) => line.fields.streamId)
    const told = logs.filter((line) => line.event === 'stream.no_history').map((line) => line.fields.streamId)
    expect(opened).toHaveLength(2)
    expect(new Set(told)).toEqual(new Set(opened))
    expect(told).toHaveLength(2)
  })
})
