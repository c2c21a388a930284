/**
 * Signed cursors end to end, on the Node entry over HTTP and a real nats-server: any change to a
 * cursor is refused but another position within the batch its signature covers, and rotating
 * CURSOR_KEYS keeps old cursors valid while the old key is listed.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { connectJetStream, type JetStreamAdmin } from '../support/jetstream'
import { eventsQuery, streamUrl, testSchema } from '../support/schemas'
import { openSse, readNextEvents } from '../support/sse-client'
import { startTarget, type Target } from '../support/targets'
import { uniqueName } from '../support/random'

const OLD = 'old:old-cursor-key-0123456789'
const NEW = 'new:new-cursor-key-0123456789'
const stream = uniqueName('cursors')
const query = eventsQuery(stream, 'a')

let admin: JetStreamAdmin

beforeAll(async () => {
  admin = await connectJetStream(inject('natsWsUrl'))
  await admin.createStream({ name: stream, subjects: [`t.${stream}.>`] })
  await admin.publish(`t.${stream}.a`, [1, 2, 3, 4, 5, 6].map((n) => ({ n })))
})
afterAll(() => admin?.close())

async function withTarget<T>(cursorKeys: string, use: (target: Target) => Promise<T>): Promise<T> {
  const target = await startTarget('node', { SCHEMA: testSchema, NATS_DEFAULT_URL: inject('natsWsUrl'), CURSOR_KEYS: cursorKeys })
  try {
    return await use(target)
  } finally {
    await target.close()
  }
}

/** The events after `cursor` (or from the start), as [n, id] pairs. */
async function read(target: Target, cursor: string | undefined, count: number): Promise<[number, string][]> {
  const connection = await openSse(streamUrl(target.baseUrl, query, cursor ? {} : { from: 'earliest' }), cursor ? { headers: { 'Last-Event-ID': cursor } } : {})
  expect(connection.status).toBe(200)
  const events = await readNextEvents(connection, count)
  connection.cut()
  return events.map((event) => [JSON.parse(event.data).data.events.n, event.id!])
}

async function statusOf(target: Target, cursor: string): Promise<{ status: number; code?: string }> {
  const response = await fetch(streamUrl(target.baseUrl, query), { headers: { 'Last-Event-ID': cursor } })
  if (response.status === 200) {
    await response.body?.cancel()
    return { status: 200 }
  }
  return { status: response.status, code: (await response.json()).errors[0].extensions.code }
}

const URL_SAFE = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.'

/** Every one-character change of `cursor` outside its position, its truncation and extension, and a key-id swap. */
function tamperings(cursor: string): Set<string> {
  const parts = cursor.split('.')
  const positionStart = parts[0]!.length + parts[1]!.length + 2
  const positionEnd = positionStart + parts[2]!.length
  const tampered = new Set<string>()
  for (let i = 0; i < cursor.length; i++) {
    if (i >= positionStart && i < positionEnd) continue
    const replacement = URL_SAFE[(URL_SAFE.indexOf(cursor[i]!) + 1 + i) % URL_SAFE.length]!
    tampered.add(cursor.slice(0, i) + replacement + cursor.slice(i + 1))
  }
  tampered.add(cursor.slice(0, -1))
  tampered.add(`${cursor}A`)
  tampered.add(cursor.replace('.old.', '.new.'))
  tampered.add(parts.slice(0, 3).join('.'))
  tampered.delete(cursor)
  return tampered
}

/** `cursor` naming `position` instead of its own. */
const withPosition = (cursor: string, position: number | string): string => {
  const parts = cursor.split('.')
  parts[2] = String(position)
  return parts.join('.')
}

describe('signed cursors', () => {
  it('refuses every change to a signed cursor, and any position outside what its signature covers', async () => {
    await withTarget(OLD, async (target) => {
      // A replay's events come in one batch and share the signature of its range.
      const replayed = await read(target, undefined, 6)
      const cursor = replayed[1]![1]
      expect(cursor).toMatch(/^1\.[\w-]+\.2\.old\.[\w-]{22}\.\d+\.\d+$/)
      const [first, last] = cursor.split('.').slice(5).map(Number) as [number, number]
      expect(first).toBeLessThanOrEqual(2)
      expect(last).toBeGreaterThan(2)

      // An event on its own (a live one) is signed on its own: its position is covered too.
      const live = await openSse(streamUrl(target.baseUrl, query), { headers: { 'Last-Event-ID': replayed[5]![1] } })
      await admin.publish(`t.${stream}.a`, [{ n: 7 }])
      const [seventh] = await readNextEvents(live, 1)
      live.cut()
      expect(JSON.parse(seventh!.data).data.events.n).toBe(7)
      const single = seventh!.id!
      expect(single).toMatch(/^1\.[\w-]+\.7\.old\.[\w-]{22}$/)

      const forged = [...tamperings(cursor), ...tamperings(single)]
      forged.push(withPosition(single, 6), withPosition(single, 8), withPosition(cursor, first - 1), withPosition(cursor, last + 1), withPosition(cursor, 999999999999))
      for (const candidate of forged) {
        expect(await statusOf(target, candidate), candidate).toEqual({ status: 400, code: 'INVALID_CURSOR' })
      }
      expect(forged.length).toBeGreaterThan(90)

      // Within the batch, every position resumes right after itself: all of them were sent.
      expect(await statusOf(target, single)).toEqual({ status: 200 })
      for (let position = first; position <= last; position++) {
        const [[n]] = (await read(target, withPosition(cursor, position), 1)) as [[number, string]]
        expect(n).toBe(position + 1)
      }
    })
  })

  it('keeps old cursors valid while the old key is listed after the new one, then refuses them once it is dropped', async () => {
    const oldCursor = await withTarget(OLD, async (target) => (await read(target, undefined, 2))[1]![1])

    const newCursor = await withTarget(`${NEW},${OLD}`, async (target) => {
      const resumed = await read(target, oldCursor, 2)
      expect(resumed.map(([n]) => n)).toEqual([3, 4])
      // New events are signed with the new key.
      for (const [, id] of resumed) expect(id).toMatch(/\.new\.[\w-]{22}(\.\d+\.\d+)?$/)
      return resumed[1]![1]
    })

    await withTarget(NEW, async (target) => {
      expect(await statusOf(target, oldCursor)).toEqual({ status: 400, code: 'INVALID_CURSOR' })
      expect((await read(target, newCursor, 2)).map(([n]) => n)).toEqual([5, 6])
    })
  })
})
