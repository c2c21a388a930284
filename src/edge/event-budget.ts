/**
 * CPU time on Workers is counted per invocation (30 s by default on the Paid plan, 10 ms on Free),
 * and a stream is one invocation whose CPU time adds up over its life: a few µs per event (decoding,
 * projecting, framing). The platform ends an invocation past its CPU limit abruptly; counting events
 * instead, the stream ends cleanly after the batch that reaches `MAX_STREAM_EVENTS`, without
 * `complete`, and the client resumes from its last id on a new invocation with a fresh CPU budget.
 */
import type { StreamBudget } from '../relay/relay'

export class EventBudget implements StreamBudget {
  constructor(
    private readonly maxEvents: number,
    /** The invocation's other budget (its subrequests), asked after every batch as before; none in a route object. */
    private readonly requests?: StreamBudget,
  ) {}

  endsAfterBatch(eventsSent: number): boolean {
    return (this.requests?.endsAfterBatch(eventsSent) ?? false) || eventsSent >= this.maxEvents
  }

  refused(): boolean {
    return this.requests?.refused() ?? false
  }
}
