import { serve } from '@hono/node-server'
import type { AddressInfo } from 'node:net'
import { createServerFromEnv } from '../../../src/setup'
import type { Delivery } from './delivery-count'
import { feedSchema, type Feed } from './feed'

const subject = (run: string) => `mem.${run}`

/**
 * The embedded memory broker lives inside the function, so this feed runs the
 * function itself (the Node adapter in this process) and has no network between
 * them to break: its faults are the clients' own (cuts, slow reading).
 */
export async function startMemoryFeed(): Promise<Feed & { baseUrl: string }> {
  const server = createServerFromEnv({
    SCHEMA: feedSchema('@edfs__natsSubscribe(subjects: ["mem.{{ args.run }}"], providerId: "default")'),
    NATS_DEFAULT_URL: 'memory:',
    LOG_LEVEL: 'silent',
    RETRY_MS: '200',
    HEARTBEAT_SECONDS: '1',
  })
  const broker = server.memoryBroker!
  const http = await new Promise<ReturnType<typeof serve>>((resolve) => {
    const s = serve({ fetch: server.app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(s))
  })
  return {
    provider: 'memory',
    baseUrl: `http://127.0.0.1:${(http.address() as AddressInfo).port}`,
    env: {},
    lanes: 1,
    async prepare() {},
    async publish(run, events) {
      for (const e of events) broker.publish(subject(run), JSON.stringify(e))
    },
    async readLog(run) {
      return broker.read(1, new Set([subject(run)]), Infinity).map((entry) => JSON.parse(entry.text) as Delivery)
    },
    faults: [],
    held: async () => ({}),
    close: () =>
      new Promise((resolve) => {
        http.close(() => resolve())
        if ('closeAllConnections' in http) http.closeAllConnections()
      }),
  }
}
