/**
 * Property-based hostile input: over 10,000 generated requests (fast-check) against the running
 * app, in-process on the memory broker for volume and over real HTTP on the Node entry. Never a
 * 5xx, never a hang past the bound, never an internal detail or a token in a response, and the
 * server still serves a valid subscription afterwards.
 */
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import type { Env } from '../../src/config/env'
import { CursorCodec, parseCursorKeys, subscriptionBinding } from '../../src/cursor/codec'
import { createServerFromEnv } from '../../src/setup'
import { hostileRequest, toRequest, type Pools } from '../support/hostile/requests'
import { hardenedSchema, openSchema, seedRoutes } from '../support/hostile/schemas'
import { describeTally, judge, newTally, type Tally } from '../support/hostile/verdict'
import { AUDIENCE, ISSUER, signingKey, signToken, unsignedToken } from '../support/jwks-server'
import { eventsQuery } from '../support/schemas'
import { openSse, readNextEvents } from '../support/sse-client'
import { startProcess, type RunningProcess } from '../support/processes'
import { freePort } from '../support/ports'
import { connectJetStream, type JetStreamAdmin } from '../support/jetstream'
import { malformedHttp, rawExchange } from '../support/hostile/raw-http'
import { uniqueName } from '../support/random'

const SECRET = 'hostile-input-secret-of-32-characters!!'
const CURSOR_KEYS = 'k1:hostile-cursor-key-one,k0:hostile-cursor-key-zero'
const hardenedEnv = {
  SCHEMA: hardenedSchema,
  AUTH_SECRET: SECRET,
  AUTH_ISSUER: ISSUER,
  AUTH_AUDIENCE: AUDIENCE,
  AUTH_COOKIE: 'session',
  CURSOR_KEYS,
  CORS_ORIGINS: 'https://app.example.com',
  CORS_CREDENTIALS: 'true',
}
const RUNS = { hardened: 6000, open: 4500, http: 1000 }

const tallies: Record<keyof typeof RUNS, Tally> = { hardened: newTally(), open: newTally(), http: newTally() }
let pools: Pools

beforeAll(async () => {
  const key = new TextEncoder().encode(SECRET)
  const bindings = seedRoutes.map((names) => subscriptionBinding(['nats', 'default', '', ...names]))
  const signed = new CursorCodec(parseCursorKeys(CURSOR_KEYS))
  const otherKey = new CursorCodec(parseCursorKeys('k1:some-other-cursor-key'))
  const foreign = subscriptionBinding(['kafka', 'default', '', 'orders.eu'])
  pools = {
    validTokens: await Promise.all(['fuzz', 'fuzz', 'other-user'].map((sub) => signToken(key, { sub, role: 'user' }))),
    hostileTokens: [
      await signToken(key, { sub: 'fuzz' }, { expiresIn: -3600 }),
      await signToken(key, { sub: 'fuzz' }, { notBefore: 3600 }),
      await signToken(key, { sub: 'fuzz' }, { expiresIn: null }),
      await signToken(key, { sub: 'fuzz' }, { audience: 'other' }),
      await signToken(new TextEncoder().encode(`${SECRET}?`), { sub: 'fuzz' }),
      await signToken(key, { sub: 'fuzz' }, { header: { alg: 'HS512' } }),
      await signToken(await signingKey('rs', 'RS256'), { sub: 'fuzz' }),
      ...(await Promise.all(['*', '>', 'a.b', '', ' ', 'x'.repeat(300), '\u0000', 12, true, null, { id: 1 }, ['a']].map((sub) => signToken(key, { sub } as never)))),
      unsignedToken({ sub: 'fuzz' }),
      'a.b.c',
      'null',
      '',
    ],
    cursors: [
      ...bindings.flatMap((binding) => ['1', '2', '999999'].map((position) => signed.encode(binding, position))),
      ...bindings.map((binding) => new CursorCodec().encode(binding, '1')),
      ...bindings.map((binding) => otherKey.encode(binding, '1')),
      signed.encode(foreign, '0_5~3'),
      new CursorCodec(parseCursorKeys('k0:hostile-cursor-key-zero')).encode(bindings[0]!, '2'),
    ],
    bindings: [...bindings, foreign],
  }
})

afterAll(() => {
  for (const [name, tally] of Object.entries(tallies)) if (tally.requests > 0) console.log(`hostile input, ${name}: ${describeTally(tally)}`)
})

/**
 * The app on the memory broker, counting the streams it opens and closes in its log: every
 * stream a hostile request opened must have been released when the run ends.
 */
function countingApp(env: Env) {
  const streams = { opened: 0, closed: 0 }
  const server = createServerFromEnv({ NATS_DEFAULT_URL: 'memory:', LOG_LEVEL: 'info', ...env }, {
    log: (line) => {
      const event = (JSON.parse(line) as { event: string }).event
      if (event === 'stream.open') streams.opened++
      if (event === 'stream.close') streams.closed++
    },
  })
  const broker = server.memoryBroker!
  const publish = (subject: string, payloads: unknown[]) => payloads.forEach((payload) => broker.publish(subject, JSON.stringify(payload)))
  return { app: server.app, publish, streams }
}

/** Seeds events so that streams from the start have something to send. */
function seedEvents(publish: (subject: string, payloads: unknown[]) => unknown) {
  for (const subject of ['t.s.a', 't.s.left', 't.s.right', 's.k', 'u.fuzz.inbox']) publish(subject, [{ n: 1, label: 'x' }, { n: 2 }])
}

async function servesAValidSubscription(fetcher: (url: string, init?: RequestInit) => Promise<Response>, base: string, publish: () => Promise<unknown> | unknown, headers: Record<string, string> = {}) {
  const connection = await openSse(`${base}/graphql/stream?${new URLSearchParams({ query: eventsQuery('s', 'a'), from: 'earliest' })}`, { headers }, fetcher)
  expect(connection.status).toBe(200)
  await publish()
  const events = await readNextEvents(connection, 2)
  connection.cut()
  expect(events.map((e) => JSON.parse(e.data).data.events.n)).toEqual([1, 2])
}

describe('hostile input', () => {
  it(`in-process, auth, signed cursors and CORS on: ${RUNS.hardened} requests`, async () => {
    const { app, publish, streams } = countingApp(hardenedEnv)
    seedEvents(publish)
    await fc.assert(
      fc.asyncProperty(hostileRequest(pools), (request) => judge(async () => app.fetch(toRequest(request, 'http://app.test')), request, tallies.hardened)),
      { numRuns: RUNS.hardened, endOnFailure: true },
    )
    await expect.poll(() => streams.closed).toBe(streams.opened)
    expect(streams.opened).toBe(tallies.hardened.streamsOpened)
    const fetcher = async (url: string, init?: RequestInit) => app.fetch(new Request(url, init))
    await servesAValidSubscription(fetcher, 'http://app.test', () => {}, { Authorization: `Bearer ${pools.validTokens[0]}` })
  }, 120_000)

  it(`in-process, everything off (unsigned cursors, no auth): ${RUNS.open} requests`, async () => {
    const { app, publish, streams } = countingApp({ SCHEMA: openSchema })
    seedEvents(publish)
    await fc.assert(
      fc.asyncProperty(hostileRequest(pools), (request) => judge(async () => app.fetch(toRequest(request, 'http://app.test')), request, tallies.open)),
      { numRuns: RUNS.open, endOnFailure: true },
    )
    await expect.poll(() => streams.closed).toBe(streams.opened)
    expect(streams.opened).toBe(tallies.open.streamsOpened)
    await servesAValidSubscription(async (url, init) => app.fetch(new Request(url, init)), 'http://app.test', () => {})
  }, 120_000)

  describe('over HTTP on the Node entry (npm start) with a real nats-server', () => {
    let server: RunningProcess
    let base: string
    let admin: JetStreamAdmin
    beforeAll(async () => {
      admin = await connectJetStream(inject('natsWsUrl'))
      const port = await freePort()
      base = `http://127.0.0.1:${port}`
      server = await startProcess(process.execPath, ['--import', 'tsx', 'src/runtime/node.ts'], /server\.listening/, {
        env: { ...process.env, ...hardenedEnv, PORT: String(port), NATS_DEFAULT_URL: inject('natsWsUrl'), LOG_LEVEL: 'info' },
        // tsx compiles the entry at start: slow on a busy machine.
        timeoutMs: 90_000,
      })
    })
    afterAll(async () => {
      await server?.stop()
      await admin?.close()
    })

    it(`${RUNS.http} generated requests`, async () => {
      await fc.assert(
        fc.asyncProperty(hostileRequest(pools), (request) => judge(() => fetch(toRequest(request, base)), request, tallies.http)),
        { numRuns: RUNS.http, endOnFailure: true },
      )
    }, 120_000)

    it.each(malformedHttp)('malformed HTTP a fetch client cannot send: %s', async (_name, bytes) => {
      const answer = await rawExchange(base, bytes)
      expect(answer).toMatch(/^HTTP\/1\.[01] [1-4]\d\d /)
      expect(answer).not.toMatch(/\bat .+:\d+:\d+|node_modules|TypeError|RangeError/)
    })

    it('still serves a valid subscription afterwards', async () => {
      const stream = uniqueName('after_hostile')
      await admin.createStream({ name: stream, subjects: [`t.${stream}.>`] })
      await admin.publish(`t.${stream}.a`, [{ n: 1 }, { n: 2 }])
      const connection = await openSse(`${base}/graphql/stream?${new URLSearchParams({ query: eventsQuery(stream, 'a'), from: 'earliest' })}`, {
        headers: { Authorization: `Bearer ${pools.validTokens[0]}` },
      })
      expect(connection.status).toBe(200)
      const events = await readNextEvents(connection, 2)
      connection.cut()
      expect(events.map((e) => JSON.parse(e.data).data.events.n)).toEqual([1, 2])
    })
  })
})
