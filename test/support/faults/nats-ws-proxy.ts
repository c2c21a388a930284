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
 * `landCreatesAfterDeletes` holds each consumer create until the client deletes that consumer, and
 * sends it once the server has answered the delete, holding what the client sends next until the
 * create is answered: a create that lands after the delete meant to undo it (a busy server, a
 * cluster's meta leader slow to commit), the client's request long timed out.
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
  landCreatesAfterDeletes(): void
  /** Consumer creates sent after their delete so far. */
  readonly createsLandedLate: number
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
function operationFilter(drop: (line: string, operation: Buffer) => boolean) {
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
      const operation = rest.subarray(at, end)
      if (!drop(line, operation)) kept.push(operation)
      at = end
    }
    rest = rest.subarray(at)
    return Buffer.concat(kept)
  }
}

/** A client's request on a consumer: PUB $JS.API.CONSUMER.<action>.<stream>.<consumer>[.<filter>] <reply> <size> (HPUB: two sizes). */
function consumerRequest(line: string): { action: string; consumer: string; reply: string } | undefined {
  const fields = line.trim().split(/\s+/)
  const verb = fields[0]?.toUpperCase()
  if (!(verb === 'PUB' ? fields.length === 4 : verb === 'HPUB' && fields.length === 5)) return undefined
  const [js, api, consumers, action, , consumer] = fields[1]!.split('.')
  if (js !== '$JS' || api !== 'API' || consumers !== 'CONSUMER' || action === undefined || consumer === undefined) return undefined
  return { action, consumer, reply: fields[2]! }
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
  let landingCreatesLate = false
  let createsLandedLate = 0
  /** Per connection: sends what it held to the client. */
  const releases = new Set<() => void>()
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false })
  const sockets = new Set<WebSocket>()
  server.on('connection', (client) => {
    const upstream = new WebSocket(targetUrl, { perMessageDeflate: false })
    sockets.add(client).add(upstream)
    let carriesPulls = false
    /** Creates held, by consumer; then, by the reply subject of the consumer's delete, sent once it is answered. */
    const heldCreates = new Map<string, { operation: Buffer; reply: string }>()
    const createsAfterDelete = new Map<string, { operation: Buffer; reply: string }>()
    /** While a create sent late is unanswered, what the client sends waits here. */
    let lateCreateReply: string | undefined
    const waiting: Buffer[] = []
    const filter = operationFilter((line, operation) => {
      carriesPulls ||= isPull(line)
      if (lateCreateReply !== undefined) {
        waiting.push(operation)
        return true
      }
      const request = consumerRequest(line)
      if (landingCreatesLate && request?.action === 'CREATE') {
        heldCreates.set(request.consumer, { operation, reply: request.reply })
        return true
      }
      const create = request?.action === 'DELETE' ? heldCreates.get(request.consumer) : undefined
      if (request && create) {
        heldCreates.delete(request.consumer)
        createsAfterDelete.set(request.reply, create)
      }
      return fromClient(line)
    })
    const replyFilter = operationFilter((line) => {
      const subject = line.split(/\s+/, 2)[1] ?? ''
      const create = createsAfterDelete.get(subject)
      if (create && createsAfterDelete.delete(subject)) {
        // Sent before the delete's answer goes on to the client, which may then look the consumer up.
        toServer(create.operation)
        lateCreateReply = create.reply
        createsLandedLate++
      } else if (subject === lateCreateReply) {
        lateCreateReply = undefined
        toServer(Buffer.concat(waiting.splice(0)))
      }
      return isCreateReply(line)
    })
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
    get createsLandedLate() {
      return createsLandedLate
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
    landCreatesAfterDeletes() {
      landingCreatesLate = true
    },
    heal() {
      swallowing = false
      droppingCreateReplies = false
      holding = false
      landingCreatesLate = false
      for (const release of releases) release()
    },
    async close() {
      for (const socket of sockets) socket.terminate()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}
