/**
 * Real Chromium, real EventSource, real nats-server: a subscription with
 * `@openfed__subscriptionFilter` through server cuts. The id-only frame that ends a batch of
 * withheld events must move the browser's position, so that its own reconnect sends the
 * withheld event's cursor as Last-Event-ID, and the page gets exactly the events that pass.
 */
import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { CursorCodec, subscriptionBinding } from '../../src/cursor/codec'
import { launchChromium } from '../support/browser'
import { sequenceRules } from '../support/cursors'
import { connectJetStream, type JetStreamAdmin } from '../support/jetstream'
import { uniqueName } from '../support/random'
import { startTarget, type Target } from '../support/targets'

const schema = /* GraphQL */ `
  type Query { ok: Boolean }
  type Event { n: Int! kind: String! }
  type Subscription {
    kinds(stream: String!, kind: String!): Event!
      @edfs__natsSubscribe(subjects: ["t.{{ args.stream }}.a"])
      @openfed__subscriptionFilter(condition: { IN: { fieldPath: "kind", values: ["{{ args.kind }}"] } })
  }
`

/** Any document of the function's origin will do: the page's script is injected into it. */
const PAGE_PATH = '/e2e-page'

declare global {
  interface Window {
    __filtered: { numbers: number[]; opens: number; closed: boolean }
  }
}

const page = (query: string) => `(function (query) {
  const source = new EventSource('/graphql/stream?' + new URLSearchParams({ query, from: 'earliest' }))
  const state = { numbers: [], opens: 0, closed: false }
  window.__filtered = state
  source.addEventListener('open', () => state.opens++)
  source.addEventListener('next', (event) => state.numbers.push(JSON.parse(event.data).data.kinds.n))
  source.addEventListener('error', () => {
    if (source.readyState === EventSource.CLOSED) state.closed = true
  })
})(${JSON.stringify(query)})`

let browser: Browser
let admin: JetStreamAdmin
let target: Target
beforeAll(async () => {
  browser = await launchChromium()
  admin = await connectJetStream(inject('natsWsUrl'))
  // Every stream is cut by the server after a second; EventSource comes back at once with its Last-Event-ID.
  target = await startTarget('node', { SCHEMA: schema, NATS_DEFAULT_URL: inject('natsWsUrl'), MAX_STREAM_SECONDS: '1', RETRY_MS: '50' })
})
afterAll(async () => {
  await target?.close()
  await admin?.close()
  await browser?.close()
})

describe('Chromium EventSource on a filtered subscription', () => {
  it('resumes after the withheld events that ended a batch, and gets exactly the events that pass', async () => {
    const stream = uniqueName('filtered')
    const subject = `t.${stream}.a`
    await admin.createStream({ name: stream, subjects: [`t.${stream}.>`] })
    const events = (from: number, to: number, kind: (n: number) => string) =>
      Array.from({ length: to - from + 1 }, (_, i) => ({ n: from + i, kind: kind(from + i) }))
    // 1..10 alternate, then 11..15 are all withheld: the last delivered event is 9, the last event 15.
    const seqs = await admin.publish(subject, [...events(1, 10, (n) => (n % 2 === 1 ? 'keep' : 'drop')), ...events(11, 15, () => 'drop')])

    const context = await browser.newContext()
    try {
      const tab = await context.newPage()
      const requests: Promise<Record<string, string>>[] = []
      tab.on('request', (request) => {
        if (new URL(request.url()).pathname === '/graphql/stream') requests.push(request.allHeaders())
      })
      const lastEventIds = async () => (await Promise.all(requests)).map((headers) => headers['last-event-id'])
      await tab.addInitScript(page(`subscription { kinds(stream: "${stream}", kind: "keep") { n } }`))
      await tab.goto(target.baseUrl + PAGE_PATH)
      await tab.waitForFunction(() => window.__filtered.numbers.length >= 5)
      // The server cuts the stream after a second; the browser reconnects by itself.
      await tab.waitForFunction(() => window.__filtered.opens >= 2, null, { timeout: 10_000 })
      // Its reconnect names event 15, which only the id-only frame carried.
      const codec = new CursorCodec()
      const binding = subscriptionBinding(['nats', 'default', '', subject])
      const [firstId, secondId] = await lastEventIds()
      expect(firstId).toBeUndefined()
      expect(codec.decode(binding, secondId!, sequenceRules)).toBe(String(seqs.at(-1)))

      await admin.publish(subject, events(16, 25, (n) => (n % 2 === 1 ? 'keep' : 'drop')))
      await tab.waitForFunction(() => window.__filtered.numbers.length >= 10, null, { timeout: 10_000 })
      const state = await tab.evaluate(() => window.__filtered)
      expect(state.closed).toBe(false)
      expect(state.numbers).toEqual([1, 3, 5, 7, 9, 17, 19, 21, 23, 25])
      // Every reconnect after the first named the last event of the log it had been through.
      for (const id of (await lastEventIds()).slice(1)) expect(Number(codec.decode(binding, id!, sequenceRules))).toBeGreaterThanOrEqual(seqs.at(-1)!)
    } finally {
      await context.close()
    }
  })
})
