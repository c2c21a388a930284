import { createServer, Socket, type AddressInfo } from 'node:net'

/**
 * A TCP proxy on 127.0.0.1 between the function and a broker, which injects the
 * network faults a function meets in production:
 *
 * - `reset`: both ends of open connections get a TCP RST (a crashed middlebox, a
 *   load balancer dropping its state).
 * - `stall`: nothing is forwarded, in either direction, until `heal` (a congested
 *   or flapping path); bytes wait in the socket buffers and flow again after.
 * - `blackhole`: the open connections go silent for good, and so does every new
 *   one until `heal` (a dead path that neither answers nor resets): only the
 *   endpoints' own timeouts can notice.
 *
 * Randomness (which connections a reset hits) comes from the caller's seeded generator.
 */
export interface TcpProxy {
  port: number
  /** Connections open through the proxy now. */
  readonly open: number
  /** Connections accepted since the start. */
  readonly accepted: number
  /** Resets each open connection with probability `share`; returns how many were reset. */
  reset(share?: number, random?: () => number): number
  stall(): void
  blackhole(): void
  /** Ends a stall or a blackhole: forwarding resumes (blackholed connections stay silent). */
  heal(): void
  close(): Promise<void>
}

const discard = () => {}

interface Link {
  client: Socket
  upstream: Socket
  silent: boolean
}

export async function startTcpProxy(targetPort: number): Promise<TcpProxy> {
  const links = new Set<Link>()
  let mode: 'pass' | 'stall' | 'blackhole' = 'pass'
  let accepted = 0

  const forward = (link: Link) => {
    link.client.pipe(link.upstream)
    link.upstream.pipe(link.client)
    link.client.resume()
    link.upstream.resume()
  }
  const hold = (link: Link) => {
    link.client.unpipe(link.upstream)
    link.upstream.unpipe(link.client)
    link.client.pause()
    link.upstream.pause()
  }
  // Bytes vanish (so an endpoint that gives up and closes is still noticed, as a real path would pass its FIN on).
  const silence = (link: Link) => {
    link.silent = true
    hold(link)
    link.client.on('data', discard).resume()
    link.upstream.on('data', discard).resume()
  }

  const server = createServer({ pauseOnConnect: true }, (client) => {
    accepted++
    const upstream = new Socket()
    const link: Link = { client, upstream, silent: mode === 'blackhole' }
    links.add(link)
    const drop = () => {
      if (!links.delete(link)) return
      client.destroy()
      upstream.destroy()
    }
    // A reset or an error on either side takes the whole connection down, as in a real path.
    client.on('error', drop).on('close', drop)
    upstream.on('error', drop).on('close', drop)
    if (link.silent) silence(link)
    upstream.connect(targetPort, '127.0.0.1', () => {
      if (mode === 'pass' && !link.silent) forward(link)
    })
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', resolve)
  })

  return {
    port: (server.address() as AddressInfo).port,
    get open() {
      return links.size
    },
    get accepted() {
      return accepted
    },
    reset(share = 1, random = Math.random) {
      let count = 0
      for (const link of [...links]) {
        if (share < 1 && random() >= share) continue
        count++
        links.delete(link)
        link.client.resetAndDestroy()
        link.upstream.resetAndDestroy()
      }
      return count
    },
    stall() {
      if (mode !== 'pass') return
      mode = 'stall'
      for (const link of links) hold(link)
    },
    blackhole() {
      mode = 'blackhole'
      for (const link of links) if (!link.silent) silence(link)
    },
    heal() {
      mode = 'pass'
      for (const link of links) if (!link.silent && link.upstream.readyState === 'open') forward(link)
    },
    async close() {
      for (const link of links) {
        link.client.destroy()
        link.upstream.destroy()
      }
      links.clear()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}
