/**
 * Prometheus metrics of the streams, as relay hooks (the relay loop holds no metrics code).
 * Names follow Prometheus' conventions: `edge_stream_` prefix, `_total` counters, base units
 * (`_seconds`, `_bytes`). Per-stream labels are the subscription field and its EDFS provider,
 * bounded by the schema; nothing from a client's arguments or a subject becomes a label.
 * docs/deploy-node.md lists every metric with its labels and a PromQL example.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client'
import type { ProviderItem } from '../providers/provider'
import type { RelayHooks, RelayStream } from '../relay/relay'

const STREAM_LABELS = ['field', 'provider_type', 'provider_id'] as const
type StreamLabels = Record<(typeof STREAM_LABELS)[number], string>

/** Event delays from milliseconds (live, same machine) to minutes (a replay's catch-up). */
const DELAY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300]
const DEPTH_BUCKETS = [0, 1, 10, 100, 1000, 10_000, 100_000, 1_000_000]

export interface StreamMetrics {
  registry: Registry
  hooks: RelayHooks
}

/** What one stream's hooks keep between calls: its label values, and where it stands in its backlog. */
interface StreamState {
  labels: StreamLabels
  start: 'live' | 'earliest' | 'resume'
  firstEventSeen: boolean
  /** Events of the backlog still to be sent (the broker said how many); their delay is their age, not the relay's. */
  backlogLeft: number
}

export function streamMetrics(registry: Registry = new Registry()): StreamMetrics {
  collectDefaultMetrics({ register: registry })
  const registers = [registry]
  const open = new Gauge({ name: 'edge_stream_open_streams', help: 'Streams open now.', labelNames: STREAM_LABELS, registers })
  const opened = new Counter({
    name: 'edge_stream_streams_opened_total',
    help: 'Streams opened, by start: live (new events), earliest (from the log start) or resume (after a Last-Event-ID).',
    labelNames: [...STREAM_LABELS, 'start'],
    registers,
  })
  const ended = new Counter({
    name: 'edge_stream_streams_ended_total',
    help: 'Streams ended, by reason: client-gone, max-duration, ended, refused, upstream-error.',
    labelNames: [...STREAM_LABELS, 'reason'],
    registers,
  })
  const events = new Counter({ name: 'edge_stream_sent_events_total', help: 'next frames sent.', labelNames: STREAM_LABELS, registers })
  const bytes = new Counter({ name: 'edge_stream_sent_bytes_total', help: 'Bytes of SSE frames sent (UTF-8), heartbeats excepted.', labelNames: STREAM_LABELS, registers })
  const gaps = new Counter({
    name: 'edge_stream_gaps_total',
    help: 'gap frames sent, by reason: retention (the position was deleted), unknown-position (the log does not know it).',
    labelNames: [...STREAM_LABELS, 'reason'],
    registers,
  })
  const noHistory = new Counter({ name: 'edge_stream_no_history_streams_total', help: 'Streams served live, at most once, without ids: no log captures their subjects.', labelNames: STREAM_LABELS, registers })
  const refusals = new Counter({ name: 'edge_stream_refusals_total', help: 'Streams refused in-band, by error code (NO_HISTORY, UNKNOWN_TOPIC, ...).', labelNames: [...STREAM_LABELS, 'code'], registers })
  const upstreamErrors = new Counter({
    name: 'edge_stream_upstream_errors_total',
    help: 'Broker failures that ended a stream with UPSTREAM_UNAVAILABLE, by provider.',
    labelNames: ['provider_type', 'provider_id'],
    registers,
  })
  const resumeDepth = new Histogram({
    name: 'edge_stream_resume_depth_events',
    help: 'Events between a resumed stream\'s cursor and the head of the log, where the broker says (JetStream, Kafka).',
    labelNames: STREAM_LABELS,
    buckets: DEPTH_BUCKETS,
    registers,
  })
  const publishToSend = new Histogram({
    name: 'edge_stream_publish_to_send_seconds',
    help: 'From the broker storing an event to its frame being written, where the broker gives the time (JetStream, Redis, memory); replayed backlogs excepted where their size is known.',
    labelNames: STREAM_LABELS,
    buckets: DELAY_BUCKETS,
    registers,
  })
  const firstEvent = new Histogram({
    name: 'edge_stream_first_event_seconds',
    help: 'From a stream\'s request to its first event written, by start.',
    labelNames: [...STREAM_LABELS, 'start'],
    buckets: DELAY_BUCKETS,
    registers,
  })

  const states = new WeakMap<RelayStream, StreamState>()
  const stateOf = (stream: RelayStream): StreamState => {
    let state = states.get(stream)
    if (!state) {
      const { kind, providerId } = stream.route
      const start = stream.start.from === 'after' ? 'resume' : stream.start.from
      state = { labels: { field: stream.field, provider_type: kind, provider_id: providerId }, start, firstEventSeen: false, backlogLeft: 0 }
      states.set(stream, state)
    }
    return state
  }

  const hooks: RelayHooks = {
    onOpen(stream) {
      const state = stateOf(stream)
      open.inc(state.labels)
      opened.inc({ ...state.labels, start: state.start })
    },
    onBatch(stream, batch) {
      const state = stateOf(stream)
      const { labels } = state
      if (batch.events > 0) {
        events.inc(labels, batch.events)
        if (!state.firstEventSeen) {
          state.firstEventSeen = true
          firstEvent.observe({ ...labels, start: state.start }, (Date.now() - stream.openedAt) / 1000)
        }
      }
      if (batch.frames.length > 0) bytes.inc(labels, Buffer.byteLength(batch.frames))
      for (const gap of batch.gaps) gaps.inc({ ...labels, reason: gap.reason })
      observeDelays(state, batch.items, publishToSend.labels(labels), resumeDepth.labels(labels))
    },
    onNoHistory(stream) {
      noHistory.inc(stateOf(stream).labels)
    },
    onRefused(stream, error) {
      refusals.inc({ ...stateOf(stream).labels, code: error.code })
    },
    onUpstreamError(stream) {
      upstreamErrors.inc({ provider_type: stream.route.kind, provider_id: stream.route.providerId })
    },
    onClose(stream, reason) {
      const { labels } = stateOf(stream)
      open.dec(labels)
      ended.inc({ ...labels, reason })
      states.delete(stream)
    },
  }
  return { registry, hooks }
}

type Observer = { observe(value: number): void }

/** Each event's delay from the broker to the client, once the stream's known backlog is behind it; the resume depth when told. */
function observeDelays(state: StreamState, items: readonly ProviderItem[], delay: Observer, depth: Observer): void {
  const now = Date.now()
  for (const item of items) {
    if (item.type === 'backlog') {
      state.backlogLeft = item.events
      if (state.start === 'resume') depth.observe(item.events)
      continue
    }
    if (item.type !== 'event') continue
    if (state.backlogLeft > 0) {
      state.backlogLeft--
      continue
    }
    if (item.publishedAt !== undefined) delay.observe(Math.max(0, now - item.publishedAt) / 1000)
  }
}
