/**
 * The demo page of `npm start` in real Chromium against the Node entry as a child process:
 * live ticks with nothing missed or twice, a 5 s pause whose backlog is replayed and marked,
 * and a restart of the server (its in-memory log starts afresh) told in words, the counters
 * still at 0. DEMO_SCREENSHOTS=<dir> saves a screenshot of each step there, to look at.
 */
import { join } from 'node:path'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { launchChromium } from '../support/browser'
import { nodeEntry } from '../support/node-entry'
import { freePort } from '../support/ports'
import { startProcess, type RunningProcess } from '../support/processes'

const screenshots = process.env.DEMO_SCREENSHOTS

describe('demo page (npm start)', () => {
  let browser: Browser
  let server: RunningProcess | undefined
  let port: number
  const start = () =>
    startProcess(process.execPath, nodeEntry, /edge-stream demo: open/, {
      env: { ...process.env, PORT: String(port), SCHEMA: '', SCHEMA_PATH: '', NATS_DEFAULT_URL: '' },
    })

  beforeAll(async () => {
    port = await freePort()
    server = await start()
    browser = await launchChromium()
  })
  afterAll(async () => {
    await browser?.close()
    await server?.stop()
  })

  const counter = async (page: Page, id: string) => Number(await page.textContent(`#${id}`))
  const step = async (page: Page, name: string) => {
    if (screenshots) await page.screenshot({ path: join(screenshots, `demo-${name}.png`), fullPage: true })
  }

  it('counts live ticks, replays a paused backlog marked, and tells a restart in words, nothing missed or twice', async () => {
    const page = await browser.newPage()
    await page.goto(`http://127.0.0.1:${port}/`)
    await expect.poll(() => counter(page, 'count'), { timeout: 15_000 }).toBeGreaterThanOrEqual(3)
    expect(await counter(page, 'replayed')).toBe(0)
    expect(await page.evaluate(() => document.querySelectorAll('#chart').length)).toBe(1)
    expect(await page.textContent('#latency')).toMatch(/^last \d+ ms, median \d+ ms$/)
    await step(page, '1-live')

    await page.click('#pause')
    expect(await page.textContent('#state')).toBe('paused')
    await step(page, '2-paused')
    // Five seconds of ticks wait in the log, then arrive at once, each marked.
    await expect.poll(() => counter(page, 'replayed'), { timeout: 15_000 }).toBeGreaterThanOrEqual(4)
    await expect.poll(() => page.textContent('#state')).toBe('open')
    expect(await page.locator('#events .replayed').count()).toBe(await counter(page, 'replayed'))
    await step(page, '3-replayed')

    // A restart: the memory log starts again from nothing, and EventSource comes back with an id it does not know.
    await server!.stop()
    await expect.poll(() => page.textContent('#state'), { timeout: 10_000 }).toBe('reconnecting')
    await step(page, '4-server-down')
    const before = await counter(page, 'count')
    server = await start()
    await expect.poll(() => page.textContent('#notice'), { timeout: 20_000 }).toMatch(/restarted.*log started again from nothing/)
    await expect.poll(() => counter(page, 'count'), { timeout: 15_000 }).toBeGreaterThanOrEqual(before + 3)
    await step(page, '5-after-restart')

    expect(await counter(page, 'missed')).toBe(0)
    expect(await counter(page, 'dups')).toBe(0)
    await page.close()
  })
})
