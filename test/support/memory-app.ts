import { createServerFromEnv } from '../../src/setup'
import type { Env } from '../../src/config/env'
import { testSchema } from './schemas'

/** The app on the embedded memory broker, called in-process through `app.fetch`. */
export function memoryApp(env: Env = {}) {
  const server = createServerFromEnv({ SCHEMA: testSchema, NATS_DEFAULT_URL: 'memory:', LOG_LEVEL: 'silent', ...env })
  const broker = server.memoryBroker!
  return {
    broker,
    app: server.app,
    publish: (subject: string, payloads: unknown[]) => payloads.map((p) => broker.publish(subject, JSON.stringify(p))),
    /** A fetch that goes straight into the app, as `openSse` expects. */
    fetch: (url: string, init?: RequestInit) => server.app.fetch(new Request(new URL(url, 'http://app.test'), init)),
  }
}
