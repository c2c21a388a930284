import { wsconnect } from '@nats-io/nats-core'
import type { NatsSettings } from '../config'
import type { NatsConnector } from './jetstream'

/**
 * One WebSocket connection per stream: required on Workers (a connection cannot
 * serve two requests) and simple everywhere. No reconnect: a broken connection
 * ends the stream and the client resumes from its cursor on a fresh one.
 */
export function connectionPerStream(settings: NatsSettings): NatsConnector {
  return {
    acquire: () =>
      wsconnect({
        servers: settings.url,
        name: 'edge-stream',
        reconnect: false,
        ...(settings.token ? { token: settings.token } : {}),
        ...(settings.user ? { user: settings.user, pass: settings.pass } : {}),
      }),
    release: async (nc) => {
      await nc.close().catch(() => {})
    },
  }
}
