import { wsconnect, type NatsConnection } from '@nats-io/nats-core'

/** Where and how to reach a NATS server's WebSocket listener (config/providers.ts reads it). */
export interface NatsSettings {
  /** WebSocket URLs of one server, or of several servers of one cluster. */
  servers: string[]
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
  /**
   * Where the streams of `nc` send their JetStream API requests (stream lookup and info,
   * consumer create and delete): `nc` itself when absent. A connector that shares `nc`
   * between many streams can keep them apart, so that replies never queue behind the
   * messages other streams pull through `nc`.
   */
  apiConnection?(nc: NatsConnection): Promise<NatsConnection>
  release(nc: NatsConnection): Promise<void>
}

/**
 * One WebSocket connection per stream: required on Workers (a connection cannot
 * serve two requests) and simple everywhere. No reconnect: a broken connection
 * ends the stream and the client resumes from its cursor on a fresh one. With the
 * servers of a cluster, a connection goes to one of them in random order, the next
 * when one does not answer: a resume after a node died lands on a live one, and
 * since every replica of a stream holds the same sequences, its cursor means the same there.
 *
 * A connection can also die silently (a path that drops everything, a half-dead
 * proxy): nothing arrives, and the client, fed heartbeats, would wait forever.
 * The connection pings the server every `pingIntervalMs` (the setup passes the SSE
 * heartbeat interval) and reports itself stale when two pings in a row go unanswered,
 * which ends the stream the same way (see connectionFailure in jetstream-provider.ts).
 */
export function connectionPerStream(settings: NatsSettings, pingIntervalMs = 15_000): NatsConnector {
  const connectFirst = firstAnswering(settings, pingIntervalMs)
  return {
    acquire: async () => (await connectFirst(shuffled(settings.servers))).nc,
    release: close,
  }
}

/** A connection, and the server of the list it went to. */
interface Connected {
  nc: NatsConnection
  server: string
}

/**
 * The least time a connect may take, whatever the ping interval (the SSE heartbeat). A connect
 * includes the WebSocket upgrade, the server's INFO and the CONNECT/PING round trip, each a turn of
 * an event loop that may be busy: inside a route object fanning out megabytes on a loaded machine,
 * a 3 s deadline (1 s heartbeat) timed out dials to a healthy server, and every stream of the route
 * ended. A short heartbeat is chosen to notice a gone client or a silent connection soon, not to give
 * up on a connect that is merely slow.
 */
const CONNECT_DEADLINE_FLOOR_MS = 10_000

/** Connects to the first of the servers given that answers, one after the other, each with its own deadline. */
function firstAnswering(settings: NatsSettings, pingIntervalMs: number): (servers: string[]) => Promise<Connected> {
  const connect = (server: string) =>
    wsconnect({
      servers: server,
      name: 'edge-stream',
      reconnect: false,
      pingInterval: pingIntervalMs,
      maxPingOut: 2,
      // A connect into a silent path fails within the same bound as a silent connection (the library
      // waits 20 s), but never sooner than CONNECT_DEADLINE_FLOOR_MS.
      timeout: Math.min(20_000, Math.max(CONNECT_DEADLINE_FLOOR_MS, 3 * pingIntervalMs)),
      ...(settings.token ? { token: settings.token } : {}),
      ...(settings.user ? { user: settings.user, pass: settings.pass } : {}),
    })
  // Given the whole list, the library failed streams on workerd whose first server was a dead
  // one (test/integration/jetstream-cluster.test.ts).
  return async (servers) => {
    let lastError: unknown
    for (const server of servers) {
      try {
        return { nc: await connect(server), server }
      } catch (error) {
        lastError = error
      }
    }
    throw lastError
  }
}

const close = async (nc: NatsConnection): Promise<void> => {
  await nc.close().catch(() => {})
}

/** How a shared connection is laid out. */
export interface SharedConnectionOptions {
  /**
   * JetStream API requests on a second connection of their own. Every message the streams pull
   * comes through the shared connection, queued in the server for it and read here in order: when
   * many streams replay at once (a burst of clients from the earliest event), an API reply sent
   * behind tens of MB of their messages waits longer than its deadline, and a new stream ends
   * with UPSTREAM_UNAVAILABLE before its first event. On a connection of their own, replies
   * overtake the replays.
   */
  apiConnection?: 'shared' | 'own'
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
 * end (their clients resume) and the next stream connects anew. With an API connection
 * of its own (`options.apiConnection`), the two go to the same server and live and die as
 * one: a node of a cluster that dies ends the streams of this process once, and only if
 * they were connected to it.
 */
export function sharedConnection(settings: NatsSettings, pingIntervalMs = 15_000, options: SharedConnectionOptions = {}): NatsConnector {
  const connectFirst = firstAnswering(settings, pingIntervalMs)
  interface Shared {
    connection: Promise<NatsConnection>
    api: Promise<NatsConnection>
    users: number
  }
  let current: Shared | undefined
  const byConnection = new Map<NatsConnection, Shared>()

  const connect = (): Shared => {
    const connected = connectFirst(shuffled(settings.servers))
    const connection = connected.then(({ nc }) => nc)
    const api =
      options.apiConnection === 'own'
        ? connected.then(async ({ server }) => (await connectFirst([server, ...settings.servers.filter((s) => s !== server)])).nc)
        : connection
    const shared: Shared = { connection, api, users: 0 }
    const drop = () => {
      if (current === shared) current = undefined
    }
    const dropWhenStale = async (nc: NatsConnection) => {
      for await (const status of nc.status()) if (status.type === 'staleConnection') break
      drop()
    }
    shared.connection.then((nc) => {
      byConnection.set(nc, shared)
      return dropWhenStale(nc)
    }, drop)
    if (shared.api !== connection) shared.api.then(dropWhenStale, drop)
    return shared
  }

  return {
    acquire() {
      const shared = (current ??= connect())
      shared.users++
      return shared.connection
    },
    apiConnection: async (nc) => byConnection.get(nc)?.api ?? nc,
    async release(nc) {
      const shared = byConnection.get(nc)
      if (shared && --shared.users > 0) return
      byConnection.delete(nc)
      if (current === shared) current = undefined
      const api = shared && shared.api !== shared.connection ? shared.api.then(close, () => {}) : undefined
      await Promise.all([close(nc), api])
    },
  }
}

/** The servers in random order, so that the streams of many instances spread over a cluster. */
function shuffled(servers: readonly string[]): string[] {
  const order = [...servers]
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1))
    const [a, b] = [order[i], order[j]]
    if (a !== undefined && b !== undefined) [order[i], order[j]] = [b, a]
  }
  return order
}
