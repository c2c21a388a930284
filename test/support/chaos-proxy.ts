import { connect, createServer, type Socket } from 'node:net'
import type { AddressInfo } from 'node:net'
import { seededRandom } from './random'

export interface ChaosStats {
  connections: number
  /** Stream requests seen (`GET /graphql/stream`). */
  streamRequests: number
  /** Drops of connections that had carried a stream request. */
  streamCuts: number
}

export interface ChaosProxy {
  /** http://127.0.0.1:<port>: the function, as the browser reaches it. */
  url: string
  readonly stats: ChaosStats
  /** From now on, each stream request's connection is dropped after a random delay (a third are spared). */
  startCutting(): void
  close(): Promise<void>
}

export interface ChaosOptions {
  seed: number
  /** A dropped connection goes between 0 and this long after the stream request it carries. */
  maxLifetimeMs: number
}

interface Connection {
  client: Socket
  upstream: Socket
  streamRequests: number
  drop?: ReturnType<typeof setTimeout>
}

/**
 * A TCP proxy on 127.0.0.1 in front of the function that drops connections at random
 * moments, as a mobile network or a load balancer does: before the response, between
 * two events or in the middle of one. Half of the drops are resets (RST), half plain
 * closes (FIN) in the middle of a chunked response. The dice are cast at each stream
 * request (a reconnecting browser may reuse its connection), and a third of the requests
 * are spared, so that the server's own cuts (MAX_STREAM_SECONDS) happen as well.
 */
export async function startChaosProxy(targetUrl: string, options: ChaosOptions): Promise<ChaosProxy> {
  const target = new URL(targetUrl)
  const random = seededRandom(options.seed)
  const stats: ChaosStats = { connections: 0, streamRequests: 0, streamCuts: 0 }
  const open = new Set<Connection>()
  let cutting = false

  const scheduleDrop = (connection: Connection) => {
    clearTimeout(connection.drop)
    delete connection.drop
    if (random() < 1 / 3) return
    const reset = random() < 0.5
    connection.drop = setTimeout(() => {
      stats.streamCuts++
      if (reset) connection.client.resetAndDestroy()
      else connection.client.destroy()
      connection.upstream.destroy()
    }, random() * options.maxLifetimeMs)
  }

  const server = createServer((client) => {
    stats.connections++
    const connection: Connection = { client, upstream: connect(Number(target.port), target.hostname), streamRequests: 0 }
    const { upstream } = connection
    open.add(connection)
    client.pipe(upstream).pipe(client)
    client.on('data', (chunk: Buffer) => {
      const requests = chunk.toString('latin1').split('GET /graphql/stream').length - 1
      connection.streamRequests += requests
      stats.streamRequests += requests
      if (requests > 0 && cutting) scheduleDrop(connection)
    })
    const end = () => {
      clearTimeout(connection.drop)
      open.delete(connection)
      client.destroy()
      upstream.destroy()
    }
    client.on('error', end).on('close', end)
    upstream.on('error', end).on('close', end)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo

  return {
    url: `http://127.0.0.1:${port}`,
    stats,
    startCutting() {
      cutting = true
      for (const connection of open) if (connection.streamRequests > 0) scheduleDrop(connection)
    },
    close: () =>
      new Promise((resolve) => {
        for (const connection of open) {
          clearTimeout(connection.drop)
          connection.client.destroy()
        }
        server.close(() => resolve())
      }),
  }
}
