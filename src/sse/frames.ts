/**
 * The exact SSE frames of docs/protocol.md. Every value written here is either a
 * cursor (URL-safe by construction) or JSON text (which never contains a raw
 * newline), so no field needs escaping.
 */
import type { GapReason } from '../providers/provider'

/** The response headers of every event stream (no Connection or Transfer-Encoding: illegal on HTTP/2). */
export const SSE_HEADERS = {
  'Content-Type': 'text/event-stream; charset=utf-8',
  'Cache-Control': 'no-cache',
  'X-Accel-Buffering': 'no',
} as const

/** A `retry` between one and two times the configured one, so that clients cut together do not return together. */
export const jitteredRetryMs = (retryMs: number): number => Math.round(retryMs * (1 + Math.random()))

export const openingFrame = (retryMs: number): string => `retry: ${retryMs}\n: ok\n\n`

export const pingFrame = ': ping\n\n'

/** `id` is omitted for at-most-once events that have no position to resume from. */
export const nextFrame = (id: string | undefined, resultJson: string): string =>
  id === undefined ? `event: next\ndata: ${resultJson}\n\n` : `id: ${id}\nevent: next\ndata: ${resultJson}\n\n`

/**
 * Only an `id`: EventSource takes it as its last event id without dispatching anything, so a
 * client's position moves past events a subscription filter withheld and a resume starts after them.
 */
export const positionFrame = (id: string): string => `id: ${id}\n\n`

export const gapFrame = (requested: string | null, resumedFrom: string, reason: GapReason): string =>
  `event: gap\ndata: ${JSON.stringify({ requested, resumedFrom, reason })}\n\n`

/** Events without history follow: the client learns it in-band, as an event EventSource pages can listen to. */
export const noHistoryFrame = (subjects: readonly string[]): string =>
  `event: no-history\ndata: ${JSON.stringify({ delivery: 'at-most-once', subjects })}\n\n`

/** A `retry` line here tells EventSource how long to back off before it resumes. */
export const errorFrame = (bodyJson: string, retryMs?: number): string =>
  `${retryMs === undefined ? '' : `retry: ${retryMs}\n`}event: error\ndata: ${bodyJson}\n\n`

export const completeFrame = 'event: complete\ndata:\n\n'
