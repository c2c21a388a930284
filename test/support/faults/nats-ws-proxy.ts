/**
 * A WebSocket proxy between the function and nats-server that reads just enough of the
 * NATS protocol (operations over WebSocket frames) to drop chosen client operations.
 * `swallowPulls` makes every JetStream pull request vanish on its way to the server while
 * everything else passes (pings, API requests, subscriptions): the connection stays healthy
 * and the server never answers the pulls, which is how a server that lost a waiting pull
 * (a restart of the consumer's server, a lost leadership) looks from the client.
 */
import { WebSocket, WebSocketServer, type RawData } from 'ws'
import type { AddressInfo } from 'node:net'

export interface NatsWsProxy {
  /** ws://127.0.0.1:port, what the function connects to. */
  url: string
  /** Pull requests dropped so far. */
  readonly swallowed: number
  swallowPulls(): void
  heal(): void
  close(): Promise<void>
}

const PULL_SUBJECT = '$JS.API.CONSUMER.MSG.NEXT.'
const CRLF = Buffer.from('\r\n')

const toBuffer = (data: RawData): Buffer =>
  Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data)

/**
 * Splits client operations out of a byte stream (an operation may span frames): a line, and for
 * PUB/HPUB the payload that follows it, whose size is the line's last field.
 */
function operationFilter(drop: (line: string) => boolean) {
  let rest: Buffer = Buffer.alloc(0)
  return (data: Buffer): Buffer => {
    rest = rest.length === 0 ? data : Buffer.concat([rest, data])
    const kept: Buffer[] = []
    let at = 0
    for (;;) {
      const eol = rest.indexOf(CRLF, at)
      if (eol < 0) break
      const line = rest.toString('latin1', at, eol)
      const op = line.split(' ', 1)[0]!.toUpperCase()
      let end = eol + 2
      if (op === 'PUB' || op === 'HPUB') end += Number(line.trim().split(/\s+/).at(-1)) + 2
      if (end > rest.length) break
      if (!drop(line)) kept.push(rest.subarray(at, end))
      at = end
    }
    rest = rest.subarray(at)
    return Buffer.concat(kept)
  }
}

export async function startNatsWsProxy(targetUrl: string): Promise<NatsWsProxy> {
  let swallowing = false
  let swallowed = 0
  const isPull = (line: string) => {
    if (!swallowing || !/^H?PUB /i.test(line) || line.split(/\s+/)[1]?.startsWith(PULL_SUBJECT) !== true) return false
    swallowed++
    return true
  }
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false })
  const sockets = new Set<WebSocket>()
  server.on('connection', (client) => {
    const upstream = new WebSocket(targetUrl, { perMessageDeflate: false })
    sockets.add(client).add(upstream)
    const filter = operationFilter(isPull)
    const early: Buffer[] = []
    const toServer = (data: Buffer) => {
      if (data.length === 0) return
      if (upstream.readyState === WebSocket.OPEN) upstream.send(data)
      else early.push(data)
    }
    upstream.on('open', () => {
      for (const data of early.splice(0)) upstream.send(data)
    })
    client.on('message', (data) => toServer(filter(toBuffer(data))))
    upstream.on('message', (data) => client.readyState === WebSocket.OPEN && client.send(toBuffer(data)))
    const drop = () => {
      sockets.delete(client)
      sockets.delete(upstream)
      client.terminate()
      upstream.terminate()
    }
    for (const socket of [client, upstream]) socket.on('close', drop).on('error', drop)
  })
  await new Promise<void>((resolve) => server.once('listening', resolve))
  return {
    url: `ws://127.0.0.1:${(server.address() as AddressInfo).port}`,
    get swallowed() {
      return swallowed
    },
    swallowPulls() {
      swallowing = true
    },
    heal() {
      swallowing = false
    },
    async close() {
      for (const socket of sockets) socket.terminate()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}
