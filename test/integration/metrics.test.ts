/**
 * Prometheus metrics of the Node entry (METRICS_PORT), against the real nats-server 2.12: the
 * counters and histograms after streams that start from the log start, resume (with a known
 * backlog), receive a live event, resume past the log end (a gap), and fail on a dead provider.
 */
import { Buffer } from 'node:buffer'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { connectJetStream, type JetStreamAdmin } from '../support/jetstream'
import { nodeEntry, runNodeEntryToExit } from '../support/node-entry'
import { freePort } from '../support/ports'
import { parseSamples } from '../support/prometheus-text'
import { startProcess, type RunningProcess } from '../support/processes'
import { uniqueName } from '../support/random'
import { openSse, readNextEvents, type SseConnection } from '../support/sse-client'

const OPENING = 'retry: 2000\n: ok\n\n'

describe('Node entry metrics (METRICS_PORT)', () => {
  const natsUrl = inject('natsWsUrl')
  const prefix = uniqueName('metrics')
  let admin: JetStreamAdmin
  let server: RunningProcess
  let port: number
  let metricsPort: number
  let deadPort: number

  beforeAll(async () => {
    admin = await connectJetStream(natsUrl)
    await admin.createStream({ name: prefix, subjects: [`${prefix}.>`] })
    await admin.publish(`${prefix}.1`, [1, 2, 3].map((n) => ({ n })))
    ;[port, metricsPort, deadPort] = [await freePort(), await freePort(), await freePort()]
    server = await startProcess(process.execPath, nodeEntry, /server\.listening[\s\S]*metrics\.listening|metrics\.listening[\s\S]*server\.listening/, {
      env: {
        ...process.env,
        PORT: String(port),
        METRICS_PORT: String(metricsPort),
        SCHEMA: `
          type Tick { n: Int! }
          type Query { ok: Boolean }
          type Subscription {
            tick: Tick! @edfs__natsSubscribe(subjects: ["${prefix}.1"], providerId: "default")
            lost: Tick! @edfs__natsSubscribe(subjects: ["${prefix}.2"], providerId: "down")
          }`,
        SCHEMA_PATH: '',
        NATS_DEFAULT_URL: natsUrl,
        // Nothing listens there: every stream of `lost` fails upstream.
        NATS_DOWN_URL: `ws://127.0.0.1:${deadPort}`,
      },
    })
  })

  afterAll(async () => {
    await server?.stop()
    await admin?.close()
  })

  const streamUrl = (query: string, from?: string) =>
    `http://127.0.0.1:${port}/graphql/stream?${new URLSearchParams({ query, ...(from ? { from } : {}) })}`
  const scrape = async () => {
    const response = await fetch(`http://127.0.0.1:${metricsPort}/metrics`)
    expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/)
    return parseSamples(await response.text())
  }
  /** Bytes of frames the relay wrote on a connection: all it sent but the opening. */
  const framedBytes = (connection: SseConnection) => Buffer.byteLength(connection.raw()) - Buffer.byteLength(OPENING)

  it('counts streams opened, resumed and ended, events, bytes, gaps, upstream errors, resume depth and delays', async () => {
    const tick = { field: 'tick', provider_type: 'nats', provider_id: 'default' }
    const query = 'subscription { tick { n } }'

    const fromStart = await openSse(streamUrl(query, 'earliest'))
    const replayed = await readNextEvents(fromStart, 3)
    fromStart.cut()

    // Two events behind the head when it resumes, then one published live.
    const resumed = await openSse(streamUrl(query), { headers: { 'Last-Event-ID': replayed[0]!.id! } })
    expect(await readNextEvents(resumed, 2)).toHaveLength(2)
    await admin.publish(`${prefix}.1`, [{ n: 4 }])
    const [live] = await readNextEvents(resumed, 1)
    expect(JSON.parse(live!.data).data.tick.n).toBe(4)
    resumed.cut()

    // A cursor past the end of the log (a recreated stream): the stream says so and replays the log from its start.
    const beyond = await openSse(streamUrl(query), { headers: { 'Last-Event-ID': live!.id!.replace(/\d+$/, '999') } })
    expect((await beyond.next())?.event).toBe('gap')
    expect(await readNextEvents(beyond, 4)).toHaveLength(4)
    beyond.cut()

    const lost = await openSse(streamUrl('subscription { lost { n } }'))
    const failure = await lost.next()
    expect(JSON.parse(failure!.data).errors[0].extensions.code).toBe('UPSTREAM_UNAVAILABLE')
    lost.cut()

    // Streams end asynchronously after their cut.
    await expect.poll(async () => (await scrape())('edge_stream_open_streams', tick), { timeout: 10_000 }).toBe(0)
    const sample = await scrape()
    expect(sample('edge_stream_streams_opened_total', { ...tick, start: 'earliest' })).toBe(1)
    expect(sample('edge_stream_streams_opened_total', { ...tick, start: 'resume' })).toBe(2)
    expect(sample('edge_stream_streams_ended_total', { ...tick, reason: 'client-gone' })).toBe(3)
    expect(sample('edge_stream_sent_events_total', tick)).toBe(3 + 3 + 4)
    expect(sample('edge_stream_sent_bytes_total', tick)).toBe(framedBytes(fromStart) + framedBytes(resumed) + framedBytes(beyond))
    expect(sample('edge_stream_gaps_total', { ...tick, reason: 'unknown-position' })).toBe(1)
    // Resume depth: 2 events behind, then the 4 of the whole log after the gap.
    expect(sample('edge_stream_resume_depth_events_count', tick)).toBe(2)
    expect(sample('edge_stream_resume_depth_events_sum', tick)).toBe(2 + 4)
    expect(sample('edge_stream_resume_depth_events_bucket', { ...tick, le: '1' })).toBe(0)
    expect(sample('edge_stream_resume_depth_events_bucket', { ...tick, le: '10' })).toBe(2)
    // Only the live event: replayed backlogs are the events' age, not the relay's delay.
    expect(sample('edge_stream_publish_to_send_seconds_count', tick)).toBe(1)
    expect(sample('edge_stream_publish_to_send_seconds_bucket', { ...tick, le: '+Inf' })).toBe(1)
    expect(sample('edge_stream_first_event_seconds_count', { ...tick, start: 'earliest' })).toBe(1)
    expect(sample('edge_stream_first_event_seconds_count', { ...tick, start: 'resume' })).toBe(2)

    const down = { field: 'lost', provider_type: 'nats', provider_id: 'down' }
    expect(sample('edge_stream_upstream_errors_total', { provider_type: 'nats', provider_id: 'down' })).toBe(1)
    expect(sample('edge_stream_upstream_errors_total', { provider_type: 'nats', provider_id: 'default' })).toBeUndefined()
    await expect.poll(async () => (await scrape())('edge_stream_streams_ended_total', { ...down, reason: 'upstream-error' })).toBe(1)
    expect(sample('process_cpu_seconds_total')).toBeGreaterThan(0)
  })

  it('serves nothing but GET /metrics on its port', async () => {
    const response = await fetch(`http://127.0.0.1:${metricsPort}/graphql/stream`)
    expect(response.status).toBe(404)
    expect((await response.json()).errors[0].extensions.code).toBe('NOT_FOUND')
    // …and no metrics where the streams are.
    expect((await fetch(`http://127.0.0.1:${port}/metrics`)).status).toBe(404)
  })

  it.each([['abc'], ['0'], ['70000']])('refuses to start with METRICS_PORT=%s, naming it', async (value) => {
    const { code, output } = await runNodeEntryToExit({ METRICS_PORT: value, SCHEMA: '', SCHEMA_PATH: '', NATS_DEFAULT_URL: '' })
    expect(code).toBe(1)
    expect(output.trim().split('\n')).toHaveLength(1)
    expect(output).toContain('invalid configuration: METRICS_PORT')
  })

  it('refuses METRICS_PORT equal to PORT, and a METRICS_PORT already taken', async () => {
    const same = await runNodeEntryToExit({ PORT: '18999', METRICS_PORT: '18999', SCHEMA: '', SCHEMA_PATH: '', NATS_DEFAULT_URL: '' })
    expect(same.code).toBe(1)
    expect(same.output).toContain('METRICS_PORT: must differ from PORT')
    const taken = await runNodeEntryToExit({ PORT: String(await freePort()), METRICS_PORT: String(metricsPort), SCHEMA: '', SCHEMA_PATH: '', NATS_DEFAULT_URL: '' })
    expect(taken.code).toBe(1)
    expect(taken.output).toMatch(/METRICS_PORT: cannot listen on 127\.0\.0\.1:\d+: .*EADDRINUSE/)
  })
})
