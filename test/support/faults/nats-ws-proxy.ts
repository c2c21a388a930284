/**
 * A WebSocket proxy between the function and nats-server that reads just enough of the
 * NATS protocol (operations over WebSocket frames) to drop chosen client operations.
 * `swallowPulls` makes every JetStream pull request vanish on its way to the server while
 * everything else passes (pings, API requests, subscriptions): the connection stays healthy
 * and the server never answers the pulls, which is how a server that lost a waiting pull
 * (a restart of the consumer's server, a lost leadership) looks from the client.
 * `dropConsumerCreateReplies` lets consumer creates reach the server and drops the server's
 * replies to them: the consumer exists, and the client's request times out, as it does when
 * the answer comes too late.
 * `holdPullDeliveries` holds everything the server sends on the connections that carry pulls
 * until healed (then delivers it in order): a replay queued ahead of whatever else the
 * server sends on them, without end.
 */
import { WebSocket, WebSocketServer, type RawData } from 'ws'
import type { AddressInfo } from 'node:net'

export interface NatsWsProxy {
  /** ws://127.0.0.1:port, what the function connects to. */
  url: string
  /** Pull requests dropped so far. */
  readonly swallowed: number
  /** Replies to consumer creates dropped so far. */
  readonly droppedCreateReplies: number
  swallowPulls(): void
  dropConsumerCreateReplies(): void
  holdPullDeliveries(): void
  heal(): void
  close(): Promise<void>
}

const PULL_SUBJECT = '$JS.API.CONSUMER.MSG.NEXT.'
const CREATE_SUBJECT = '$JS.API.CONSUMER.CREATE.'
const CRLF = Buffer.from('\r\n')

const toBuffer = (data: RawData): Buffer =>
  Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data)

/**
 * Splits operations out of a byte stream (an operation may span frames): a line, and for
 * PUB/HPUB (client) or MSG/HMSG (server) the payload that follows it, whose size is the line's last field.
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
      if (op === 'PUB' || op === 'HPUB' || op === 'MSG' || op === 'HMSG') end += Number(line.trim().split(/\s+/).at(-1)) + 2
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
  let droppingCreateReplies = false
  let droppedCreateReplies = 0
  /** The reply subjects of the consumer creates sent while dropping: their answers are dropped. */
  const createReplies = new Set<string>()
  // PUB <subject> [reply] <size>, HPUB <subject> [reply] <header size> <total size>
  const noteCreate = (line: string) => {
    const fields = line.trim().split(/\s+/)
    const withReply = fields[0]!.toUpperCase() === 'PUB' ? fields.length === 4 : fields.length === 5
    if (droppingCreateReplies && withReply && fields[1]?.startsWith(CREATE_SUBJECT)) createReplies.add(fields[2]!)
  }
  // MSG <subject> <sid> [reply] <size>, HMSG likewise with two sizes
  const isCreateReply = (line: string) => {
    const subject = line.split(/\s+/, 2)[1] ?? ''
    if (!/^H?MSG /i.test(line) || !createReplies.delete(subject)) return false
    droppedCreateReplies++
    return true
  }
  const isPull = (line: string) => /^H?PUB /i.test(line) && line.split(/\s+/)[1]?.startsWith(PULL_SUBJECT) === true
  /** Notes consumer creates; drops pulls while swallowing. */
  const fromClient = (line: string) => {
    if (/^H?PUB /i.test(line)) noteCreate(line)
    if (!swallowing || !isPull(line)) return false
    swallowed++
    return true
  }
  let holding = false
  /** Per connection: sends what it held to the client. */
  const releases = new Set<() => void>()
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false })
  const sockets = new Set<WebSocket>()
  server.on('connection', (client) => {
    const upstream = new WebSocket(targetUrl, { perMessageDeflate: false })
    sockets.add(client).add(upstream)
    let carriesPulls = false
    const filter = operationFilter((line) => {
      carriesPulls ||= isPull(line)
      return fromClient(line)
    })
    const replyFilter = operationFilter(isCreateReply)
    const held: Buffer[] = []
    const toClient = (data: Buffer) => {
      if (data.length > 0 && client.readyState === WebSocket.OPEN) client.send(data)
    }
    const release = () => {
      for (const data of held.splice(0)) toClient(data)
    }
    releases.add(release)
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
    upstream.on('message', (data) => {
      const kept = replyFilter(toBuffer(data))
      if (holding && carriesPulls) held.push(kept)
      else toClient(kept)
    })
    const drop = () => {
      releases.delete(release)
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
    get droppedCreateReplies() {
      return droppedCreateReplies
    },
    swallowPulls() {
      swallowing = true
    },
    dropConsumerCreateReplies() {
      droppingCreateReplies = true
    },
    holdPullDeliveries() {
      holding = true
    },
    heal() {
      swallowing = false
      droppingCreateReplies = false
      holding = false
      for (const release of releases) release()
    },
    async close() {
      for (const socket of sockets) socket.terminate()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}
