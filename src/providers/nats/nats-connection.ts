import { wsconnect, type NatsConnection } from '@nats-io/nats-core'

/** Where and how to reach a NATS server's WebSocket listener (config/providers.ts reads it). */
export interface NatsSettings {
  url: string
  token?: string
  user?: string
  pass?: string
}

/**
 * How a stream gets its NATS connection. On Workers a connection cannot outlive
 * its request, so each stream opens its own; a Node server may share one.
 */
export interface NatsConnector {
  acquire(): Promise<NatsConnection>
  release(nc: NatsConnection): Promise<void>
}

/**
 * One WebSocket connection per stream: required on Workers (a connection cannot
 * serve two requests) and simple everywhere. No reconnect: a broken connection
 * ends the stream and the client resumes from its cursor on a fresh one.
 *
 * A connection can also die silently (a path that drops everything, a half-dead
 * proxy): nothing arrives, and the client, fed heartbeats, would wait forever.
 * The connection pings the server every `pingIntervalMs` (the setup passes the SSE
 * heartbeat interval) and reports itself stale when two pings in a row go unanswered,
 * which ends the stream the same way (see connectionFailure in jetstream-provider.ts).
 */
export function connectionPerStream(settings: NatsSettings, pingIntervalMs = 15_000): NatsConnector {
  return {
    acquire: () =>
      wsconnect({
        servers: settings.url,
        name: 'edge-stream',
        reconnect: false,
        pingInterval: pingIntervalMs,
        maxPingOut: 2,
        // A connect into a silent path fails within the same bound (the library waits 20 s).
        timeout: Math.min(20_000, 3 * pingIntervalMs),
        ...(settings.token ? { token: settings.token } : {}),
        ...(settings.user ? { user: settings.user, pass: settings.pass } : {}),
      }),
    release: async (nc) => {
      await nc.close().catch(() => {})
    },
  }
}

/**
 * One connection for all the streams of a long-lived process: the Node entry. A stream
 * then costs a consumer on the shared connection instead of a WebSocket of its own with
 * its buffers and pings, and one event for N streams arrives in one frame, not N (at
 * 1,000 streams: p99 live latency and memory per stream, see bench/RESULTS.md). Never on
 * Workers, where a connection cannot serve two requests.
 *
 * The connection closes when its last stream ends, so an idle server holds nothing on
 * the broker. A connection that closes or goes stale is dropped at once: its streams
 * end (their clients resume) and the next stream connects anew.
 */
export function sharedConnection(settings: NatsSettings, pingIntervalMs = 15_000): NatsConnector {
  const perStream = connectionPerStream(settings, pingIntervalMs)
  interface Shared {
    connection: Promise<NatsConnection>
    users: number
  }
  let current: Shared | undefined
  const byConnection = new Map<NatsConnection, Shared>()

  const connect = (): Shared => {
    const shared: Shared = { connection: perStream.acquire(), users: 0 }
    shared.connection.then(
      async (nc) => {
        byConnection.set(nc, shared)
        for await (const status of nc.status()) if (status.type === 'staleConnection') break
        if (current === shared) current = undefined
      },
      () => {
        if (current === shared) current = undefined
      },
    )
    return shared
  }

  return {
    acquire() {
      const shared = (current ??= connect())
      shared.users++
      return shared.connection
    },
    async release(nc) {
      const shared = byConnection.get(nc)
      if (shared && --shared.users > 0) return
      byConnection.delete(nc)
      if (current === shared) current = undefined
      await perStream.release(nc)
    },
  }
}
