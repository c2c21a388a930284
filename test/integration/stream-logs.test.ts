/**
 * The structured log of each stream's life, against the real nats-server: open with its
 * start, resume, gap, close with its reason, the LOG_LEVEL threshold, and never a
 * credential or a payload, whichever way a client or the configuration carries them.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { createServerFromEnv } from '../../src/setup'
import type { Env } from '../../src/config/env'
import { connectJetStream, type JetStreamAdmin } from '../support/jetstream'
import { freePort } from '../support/ports'
import { eventsQuery, streamUrl, testSchema } from '../support/schemas'
import { openSse, readNextEvents } from '../support/sse-client'
import { uniqueName } from '../support/random'

const SECRETS = {
  bearer: 'bearer-7f3a9c-never-logged',
  queryToken: 'query-token-51d2e8-never-logged',
  cookie: 'cookie-token-0b4c6a-never-logged',
  natsToken: 'nats-token-93ee1f-never-logged',
  payload: 'payload-text-c81d07-never-logged',
}

type LogLine = { time: string; level: string; event: string; [field: string]: unknown }

/** The app in-process, its log lines collected as the runtime would print them. */
function loggedApp(env: Env) {
  const lines: string[] = []
  const { app } = createServerFromEnv({ SCHEMA: testSchema, ...env }, { log: (line) => lines.push(line) })
  return {
    lines,
    parsed: () => lines.map((line) => JSON.parse(line) as LogLine),
    events: (name: string) => lines.map((line) => JSON.parse(line) as LogLine).filter((line) => line.event === name),
    fetch: (url: string, init?: RequestInit) => app.fetch(new Request(new URL(url, 'http://app.test'), init)),
  }
}

describe('stream logs', () => {
  let admin: JetStreamAdmin
  const natsUrl = inject('natsWsUrl')
  const everyLine: string[] = []

  beforeAll(async () => {
    admin = await connectJetStream(natsUrl)
  })
  afterAll(async () => {
    await admin?.close()
    // Whatever each test logged: JSON lines, and not one of them holds a secret or a payload.
    expect(everyLine.length).toBeGreaterThan(0)
    for (const line of everyLine) {
      expect(JSON.parse(line)).toMatchObject({ time: expect.any(String), level: expect.any(String), event: expect.any(String) })
      for (const secret of Object.values(SECRETS)) expect(line).not.toContain(secret)
    }
  })

  async function streamWithPayloads(count: number, options: { max_msgs?: number } = {}) {
    const stream = uniqueName('logs')
    await admin.createStream({ name: stream, subjects: [`t.${stream}.>`], ...options })
    await admin.publish(
      `t.${stream}.a`,
      Array.from({ length: count }, (_, i) => ({ n: i + 1, label: SECRETS.payload })),
    )
    return { stream, query: eventsQuery(stream, 'a', 'n label') }
  }

  it('logs open with its start, resume, and close with the client gone, carrying no credential or payload', async () => {
    const app = loggedApp({ NATS_DEFAULT_URL: natsUrl, NATS_DEFAULT_TOKEN: SECRETS.natsToken, LOG_LEVEL: 'debug' })
    const { query } = await streamWithPayloads(3)
    const credentials = { Authorization: `Bearer ${SECRETS.bearer}`, Cookie: `token=${SECRETS.cookie}` }

    const first = await openSse(streamUrl('', query, { from: 'earliest', access_token: SECRETS.queryToken }), { headers: credentials }, app.fetch)
    const read = await readNextEvents(first, 3)
    expect(JSON.parse(read[0]!.data).data.events.label).toBe(SECRETS.payload)
    first.cut()
    await expect.poll(() => app.events('stream.close').length).toBe(1)

    const second = await openSse(streamUrl('', query, { access_token: SECRETS.queryToken }), {
      headers: { ...credentials, 'Last-Event-ID': read[1]!.id! },
    }, app.fetch)
    expect(await readNextEvents(second, 1)).toHaveLength(1)
    second.cut()
    await expect.poll(() => app.events('stream.close').length).toBe(2)

    const [open, resumed] = app.events('stream.open')
    expect(open).toMatchObject({ level: 'info', field: 'events', start: 'earliest', resume: false })
    expect(resumed).toMatchObject({ level: 'info', field: 'events', start: 'after 2', resume: true })
    const [firstClose, secondClose] = app.events('stream.close')
    expect(firstClose).toMatchObject({ streamId: open!.streamId, reason: 'client-gone', events: 3, lastSent: '3' })
    expect(secondClose).toMatchObject({ streamId: resumed!.streamId, reason: 'client-gone', events: 1, lastSent: '3' })
    expect(firstClose!.durationMs).toEqual(expect.any(Number))
    // The close line sums the stream up (Workers have no other metrics): one event was left after the cursor.
    expect(firstClose).toMatchObject({ field: 'events', provider: 'nats:default', gaps: 0, chars: expect.any(Number), firstEventMs: expect.any(Number) })
    expect(firstClose).not.toHaveProperty('resumeDepth')
    expect(secondClose).toMatchObject({ resumeDepth: 1, gaps: 0 })
    expect(secondClose!.chars).toBe(second.raw().length - 'retry: 2000\n: ok\n\n'.length)
    everyLine.push(...app.lines)
  })

  it('logs a retention gap and a close at the maximum duration', async () => {
    const app = loggedApp({ NATS_DEFAULT_URL: natsUrl, MAX_STREAM_SECONDS: '0.3', LOG_LEVEL: 'info' })
    // Only the last 5 of 10 events are retained: a position of 2 is gone.
    const { query } = await streamWithPayloads(10, { max_msgs: 5 })
    const probe = await openSse(streamUrl('', query, { from: 'earliest' }), {}, app.fetch)
    const [oldest] = await readNextEvents(probe, 1)
    probe.cut()
    const lost = oldest!.id!.replace(/\.6$/, '.2')

    const resumed = await openSse(streamUrl('', query), { headers: { 'Last-Event-ID': lost } }, app.fetch)
    expect(await readNextEvents(resumed, 5)).toHaveLength(5)
    // The server ends the stream by itself at MAX_STREAM_SECONDS.
    while (await resumed.next());

    const gap = app.events('stream.gap')
    expect(gap).toEqual([expect.objectContaining({ level: 'warn', reason: 'retention', requested: '2', resumedFrom: '5' })])
    await expect.poll(() => app.events('stream.close').find((line) => line.streamId === gap[0]!.streamId)).toMatchObject({
      reason: 'max-duration',
      events: 5,
      gaps: 1,
      lastSent: '10',
      resumeDepth: 5,
    })
    everyLine.push(...app.lines)
  })

  it('logs an unreachable broker as an upstream error and the close that follows, without its token', async () => {
    const deadPort = await freePort()
    const app = loggedApp({ NATS_DEFAULT_URL: `ws://127.0.0.1:${deadPort}`, NATS_DEFAULT_TOKEN: SECRETS.natsToken })
    const connection = await openSse(streamUrl('', eventsQuery('offline', 'a')), { headers: { Authorization: `Bearer ${SECRETS.bearer}` } }, app.fetch)
    expect(await connection.next()).toMatchObject({ event: 'error' })
    await expect.poll(() => app.events('stream.close')).toEqual([expect.objectContaining({ reason: 'upstream-error', events: 0 })])
    expect(app.events('stream.upstream_error')).toEqual([
      expect.objectContaining({ level: 'error', provider: 'nats:default', host: `127.0.0.1:${deadPort}`, error: expect.any(String) }),
    ])
    everyLine.push(...app.lines)
  })

  it('writes only lines at or above LOG_LEVEL', async () => {
    const { query } = await streamWithPayloads(10, { max_msgs: 5 })
    const lost = async (app: ReturnType<typeof loggedApp>) => {
      const probe = await openSse(streamUrl('', query, { from: 'earliest' }), {}, app.fetch)
      const [oldest] = await readNextEvents(probe, 1)
      probe.cut()
      const resumed = await openSse(streamUrl('', query), { headers: { 'Last-Event-ID': oldest!.id!.replace(/\.6$/, '.2') } }, app.fetch)
      await readNextEvents(resumed, 5)
      resumed.cut()
    }
    const warn = loggedApp({ NATS_DEFAULT_URL: natsUrl, LOG_LEVEL: 'warn' })
    await lost(warn)
    expect(warn.parsed().map((line) => line.event)).toEqual(['stream.gap'])
    const silent = loggedApp({ NATS_DEFAULT_URL: natsUrl, LOG_LEVEL: 'silent' })
    await lost(silent)
    expect(silent.lines).toEqual([])
    everyLine.push(...warn.lines)
  })
})
