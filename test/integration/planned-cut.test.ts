/**
 * A cut at MAX_STREAM_SECONDS while events flow: the events stop, and the response ends
 * only after a quiet time, so that no client reads its last event and the end together
 * (graphql-sse's client stops for good when it does; see test/browser/).
 */
import { expect, it } from 'vitest'
import { QUIET_BEFORE_CUT_MS } from '../../src/sse/event-stream'
import { memoryApp } from '../support/memory-app'
import { eventsQuery, streamUrl } from '../support/schemas'

it('ends a stream at its maximum duration only after a quiet time without events', async () => {
  const { fetch, publish } = memoryApp({ MAX_STREAM_SECONDS: '0.3' })
  let n = 0
  const publisher = setInterval(() => publish('t.cut.a', [{ n: ++n }]), 2)
  try {
    const response = await fetch(streamUrl('', eventsQuery('cut', 'a')))
    const reader = response.body!.getReader()
    const decoder = new TextDecoder()
    let lastEventAt = 0
    let events = 0
    for (;;) {
      const { done, value } = await reader.read()
      if (done) break
      const text = decoder.decode(value)
      if (text.includes('event: next')) {
        lastEventAt = performance.now()
        events += text.split('event: next').length - 1
      }
    }
    const endedAt = performance.now()
    expect(events).toBeGreaterThan(10)
    // Timers may fire a little early; the quiet time is never much shorter than set.
    expect(endedAt - lastEventAt).toBeGreaterThanOrEqual(QUIET_BEFORE_CUT_MS - 20)
  } finally {
    clearInterval(publisher)
  }
})
