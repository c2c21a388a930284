/**
 * Real Chromium, real EventSource, real nats-server, the function on each runtime:
 * the browser's own reconnection with Last-Event-ID must deliver every event once,
 * in order, through server cuts (MAX_STREAM_SECONDS) and random network drops; a
 * reloaded page resumes from its stored position; graphql-sse's client consumes the
 * same route.
 */
import { setTimeout as delay } from 'node:timers/promises'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest'
import { launchChromium } from '../support/browser'
import { startChaosProxy, type ChaosProxy } from '../support/chaos-proxy'
import { eventSourcePage } from '../support/eventsource-page'
import { graphqlSseClientScript, graphqlSseSubscribe } from '../support/graphql-sse-page'
import { connectJetStream, type JetStreamAdmin } from '../support/jetstream'
import { eventsQuery, testSchema } from '../support/schemas'
import { startTarget, type Target, type TargetName } from '../support/targets'
import { uniqueName } from '../support/random'

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i)
const events = (numbers: number[]) => numbers.map((n) => ({ n }))

/** Fixed, so that a failure's pattern of cuts can be replayed. */
const CHAOS_SEED = 20_261_127
/** Any document of the function's origin will do: the page's script is injected into it. */
const PAGE_PATH = '/e2e-page'

let browser: Browser
beforeAll(async () => {
  browser = await launchChromium()
})
afterAll(async () => {
  await browser?.close()
})

describe.each<TargetName>(['node', 'workerd', 'edge'])('Chromium against %s', (targetName) => {
  let admin: JetStreamAdmin
  let target: Target
  const contexts: BrowserContext[] = []

  beforeAll(async () => {
    admin = await connectJetStream(inject('natsWsUrl'))
    target = await startTarget(targetName, {
      SCHEMA: testSchema,
      NATS_DEFAULT_URL: inject('natsWsUrl'),
      // Every stream is cut by the server after a second, and EventSource comes back at once.
      MAX_STREAM_SECONDS: '1',
      RETRY_MS: '50',
      // Where a gone client is noticed only by a failed write (Miniflare, edge-runtime), this bounds how long its consumer lingers.
      HEARTBEAT_SECONDS: '0.25',
    })
  })
  afterAll(async () => {
    await target?.close()
    await admin?.close()
  })
  afterEach(async () => {
    await Promise.all(contexts.splice(0).map((context) => context.close()))
  })

  /** A page in a browser context of its own (its own connections, its own sessionStorage). */
  async function newPage(): Promise<Page> {
    const context = await browser.newContext()
    contexts.push(context)
    return context.newPage()
  }

  async function newStream(): Promise<{ subject: string; query: string; stream: string }> {
    const stream = uniqueName('browser')
    await admin.createStream({ name: stream, subjects: [`t.${stream}.>`] })
    return { stream, subject: `t.${stream}.a`, query: eventsQuery(stream, 'a') }
  }

  it('gets all 5,000 events in order, none twice, through server cuts every second and random drops', async () => {
    const { subject, query } = await newStream()
    const proxy: ChaosProxy = await startChaosProxy(target.baseUrl, { seed: CHAOS_SEED, maxLifetimeMs: 1000 })
    // Three pages at once: three independent readers, three times the cuts in the same time.
    const pages = await Promise.all([newPage(), newPage(), newPage()])
    try {
      for (const page of pages) {
        await page.addInitScript(eventSourcePage({ query, from: 'earliest' }))
        await page.goto(proxy.url + PAGE_PATH)
        await page.waitForFunction(() => window.__stream.opens > 0)
      }
      proxy.startCutting()
      // Published while the page reads, in bursts, so that events arrive both replayed and live.
      for (let n = 1; n <= 5000; n += 50) {
        await admin.publish(subject, events(range(n, n + 49)))
        await delay(25)
      }
      for (const page of pages) {
        await page.waitForFunction(() => window.__stream.numbers.length >= 5000 || window.__stream.closed, null, {
          timeout: 45_000,
          polling: 50,
        })
        const state = await page.evaluate(() => {
          const { numbers, opens, drops, gaps, serverErrors, closed } = window.__stream
          return { numbers, opens, drops, gaps, serverErrors, closed }
        })
        expect(state.closed).toBe(false)
        expect(state.gaps).toEqual([])
        // A broker slow to answer on a loaded machine may end a stream with UPSTREAM_UNAVAILABLE;
        // the browser resumes after it as after any cut. No other error may reach the page.
        for (const error of state.serverErrors) {
          expect(JSON.parse(error)).toMatchObject({ errors: [{ extensions: { code: 'UPSTREAM_UNAVAILABLE' } }] })
        }
        expect(state.numbers).toEqual(range(1, 5000))
        expect(state.drops).toBeGreaterThanOrEqual(1)
      }
      // The streams were cut both ways, and each time the browser resumed by itself. A stream
      // request ends by a drop, by the server, or not at all (each page's last one), so the
      // server's cuts are at least the requests less the drops and the pages.
      const { streamRequests, streamCuts } = proxy.stats
      expect(streamCuts).toBeGreaterThanOrEqual(3)
      expect(streamRequests - streamCuts - pages.length).toBeGreaterThanOrEqual(1)
    } finally {
      await proxy.close()
    }
  })

  it('resumes a reloaded page from its stored position with ?lastEventId=', async () => {
    const { subject, query } = await newStream()
    await admin.publish(subject, events(range(1, 1000)))
    const page = await newPage()
    await page.addInitScript(eventSourcePage({ query, from: 'earliest', keepPosition: true }))
    await page.goto(target.baseUrl + PAGE_PATH)
    await page.waitForFunction(() => window.__stream.numbers.length >= 1000)
    expect(await page.evaluate(() => window.__stream.numbers)).toEqual(range(1, 1000))

    // While no connection is open, 500 more events are published: only the stored cursor can find them.
    await page.evaluate(() => window.__stream.source.close())
    await admin.publish(subject, events(range(1001, 1500)))
    await page.reload()
    await page.waitForFunction(() => window.__stream.numbers.length >= 500)
    await admin.publish(subject, events(range(1501, 2000)))
    await page.waitForFunction(() => window.__stream.numbers.length >= 1000)

    const state = await page.evaluate(() => ({ numbers: window.__stream.numbers, resumedAfter: window.__stream.resumedAfter }))
    expect(state.resumedAfter).toBe(1000)
    expect(state.numbers).toEqual(range(1001, 2000))
  })

  it('serves graphql-sse (distinct connections): next results, a reconnect after each server cut, complete on dispose', async () => {
    const { stream, subject, query } = await newStream()
    const page = await newPage()
    await page.goto(target.baseUrl + PAGE_PATH)
    await page.addScriptTag({ content: await graphqlSseClientScript() })
    await page.evaluate(graphqlSseSubscribe(query))

    // Events every few milliseconds, so that server cuts land right after events, until the
    // client has reconnected after two cuts and read on.
    let publishing = true
    const publisher = (async () => {
      for (let n = 1; publishing; n++) {
        await admin.publish(subject, [{ n }])
        await delay(2)
      }
    })()
    try {
      await page.waitForFunction(
        () => {
          const { results, connections, error } = window.__graphqlSse
          const reconnects = connections.filter((connection) => connection.reconnected)
          return error !== null || (reconnects.length >= 2 && results.length >= reconnects[1]!.resultsBefore + 5)
        },
        null,
        { timeout: 20_000, polling: 50 },
      )
    } finally {
      publishing = false
      await publisher
    }
    await page.evaluate(() => window.__graphqlSse.dispose())
    await page.waitForFunction(() => window.__graphqlSse.completed)
    const state = await page.evaluate(() => {
      const { results, error, completed } = window.__graphqlSse
      return { results, error, completed }
    })
    expect(state.error).toBeNull()
    expect(state.completed).toBe(true)
    // Each result is the bare ExecutionResult; across reconnects the order holds and nothing repeats
    // (graphql-sse sends no Last-Event-ID, so what is published while it reconnects is not replayed).
    const numbers = state.results.map((result) => (result as { data: { events: { n: number } } }).data.events.n)
    expect(state.results[0]).toEqual({ data: { events: { n: numbers[0] } } })
    expect(numbers.every((n, i) => i === 0 || n > numbers[i - 1]!)).toBe(true)
    expect(numbers.length).toBeGreaterThanOrEqual(5)
    // Disposing the client closed its stream, and the server released the broker consumer.
    await expect.poll(() => admin.consumerCount(stream), { timeout: 10_000, interval: 50 }).toBe(0)
  })
})
