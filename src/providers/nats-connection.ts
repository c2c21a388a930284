import { wsconnect } from '@nats-io/nats-core'
import type { NatsSettings } from '../config'
import type { NatsConnector } from './jetstream'

/**
 * One WebSocket connection per stream: required on Workers (a connection cannot
 * serve two requests) and simple everywhere. No reconnect: a broken connection
 * ends the stream and the client resumes from its cursor on a fresh one.
 *
 * A connection can also die silently (a path that drops everything, a half-dead
 * proxy): nothing arrives, and the client, fed heartbeats, would wait forever.
 * The connection pings the server every `pingIntervalMs` (the setup passes the SSE
 * heartbeat interval) and reports itself stale when two pings in a row go unanswered,
 * which ends the stream the same way (see connectionFailure in jetstream.ts).
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
