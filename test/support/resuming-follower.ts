import { expect } from 'vitest'
import { openSse, type SseConnection } from './sse-client'

/**
 * One client that reads a stream and resumes it from its last id whenever it ends, as EventSource
 * does, keeping the `n` of each event's payload under `field` (the subscription field).
 */
export class Follower {
  readonly received: number[] = []
  ends = 0
  private connection: SseConnection | undefined
  private lastEventId: string | undefined
  private stopped = false
  readonly done: Promise<void>

  /** `url`: where the first connection starts; resumes send their Last-Event-ID to the same URL. */
  constructor(
    private readonly url: string,
    private readonly field = 'events',
  ) {
    this.done = this.run()
  }

  private async run(): Promise<void> {
    for (let connections = 0; !this.stopped && connections < 50; connections++) {
      const headers: Record<string, string> = this.lastEventId === undefined ? {} : { 'Last-Event-ID': this.lastEventId }
      try {
        this.connection = await openSse(this.url, { headers })
      } catch {
        // A connection that fails before its response (a network error: workerd resets one now and
        // then while a route object breaks) is made again, as EventSource does.
        if (this.stopped) return
        continue
      }
      expect(this.connection.status).toBe(200)
      for (let event = await this.connection.next(); event !== undefined; event = await this.connection.next()) {
        if (event.event !== 'next') continue
        this.received.push(JSON.parse(event.data).data[this.field].n)
        this.lastEventId = event.id
      }
      if (this.stopped) return
      expect(this.connection.raw()).not.toContain('event: complete')
      this.ends++
    }
  }

  async stop(): Promise<void> {
    this.stopped = true
    this.connection?.cut()
    await this.done
  }
}
