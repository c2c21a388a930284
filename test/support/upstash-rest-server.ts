import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { RespConnection, type RespReply } from './resp-connection'

/**
 * The Upstash REST protocol, as @upstash/redis speaks it, in front of a real
 * redis-server: `POST /` with a JSON command array answers `{"result": …}` (200)
 * or `{"error": "…"}` (400); `POST /pipeline` with an array of commands answers
 * an array of those objects (200). `Authorization: Bearer <token>` is required
 * (401 otherwise). With `Upstash-Encoding: base64` every string in a result is
 * base64, except the status reply `OK`.
 *
 * Each request runs on its own redis connection (taken from a pool), so a
 * blocking XREAD holds one connection as it holds one request at Upstash; a
 * request whose client goes away has its connection closed, which ends the
 * blocked command in redis-server.
 */
export interface UpstashRestServer {
  url: string
  token: string
  /** Every command received, in arrival order (pipelines flattened). */
  readonly commands: readonly string[][]
  /** Requests whose response has not been sent yet. */
  readonly inFlight: number
  /** Resolves when a command matching `predicate` arrives (or has arrived since `fromIndex`). */
  waitForCommand(predicate: (command: readonly string[]) => boolean, fromIndex?: number): Promise<readonly string[]>
  close(): Promise<void>
}

type Command = string[]

export async function startUpstashRestServer(redisPort: number, token = 'test-token'): Promise<UpstashRestServer> {
  const idle: RespConnection[] = []
  const commands: string[][] = []
  const watchers = new Set<{ predicate: (command: readonly string[]) => boolean; resolve(command: readonly string[]): void }>()
  let inFlight = 0

  const record = (command: Command) => {
    commands.push(command)
    for (const watcher of watchers) {
      if (watcher.predicate(command)) {
        watchers.delete(watcher)
        watcher.resolve(command)
      }
    }
  }

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const reply = (status: number, body: unknown) => {
      res.writeHead(status, { 'Content-Type': 'application/json' }).end(JSON.stringify(body))
    }
    if (req.method !== 'POST') return reply(405, { error: 'ERR only POST is supported here' })
    if (req.headers.authorization !== `Bearer ${token}`) return reply(401, { error: 'WRONGPASS invalid or missing auth token' })
    const path = new URL(req.url ?? '/', 'http://localhost').pathname
    if (path !== '/' && path !== '/pipeline') return reply(404, { error: `ERR unsupported path ${path}` })
    const base64 = req.headers['upstash-encoding'] === 'base64'
    const pipeline = path === '/pipeline'

    let batch: Command[]
    try {
      const body: unknown = JSON.parse(await readBody(req))
      batch = pipeline && Array.isArray(body) ? body.map(toCommand) : [toCommand(body)]
    } catch (error) {
      return reply(400, { error: `ERR ${(error as Error).message}` })
    }
    batch.forEach(record)

    let connection = idle.pop()
    while (connection && !connection.usable) connection = idle.pop()
    connection ??= await RespConnection.open(redisPort)
    // A client that leaves mid-command (an aborted blocking XREAD) takes its connection down with it.
    const onClose = () => connection.destroy()
    res.once('close', onClose)
    let replies: RespReply[]
    try {
      replies = await connection.send(batch)
    } catch {
      if (!res.destroyed) reply(500, { error: 'ERR redis connection lost' })
      return
    } finally {
      res.off('close', onClose)
    }
    if (connection.usable) idle.push(connection)
    if (res.destroyed) return
    const results = replies.map((r) => (r.type === 'error' ? { error: r.message } : { result: toJson(r, base64) }))
    if (pipeline) return reply(200, results)
    return reply('error' in results[0]! ? 400 : 200, results[0])
  }

  const server = createServer((req, res) => {
    inFlight++
    res.once('close', () => inFlight--)
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'Content-Type': 'application/json' })
      res.end(JSON.stringify({ error: `ERR ${String(error)}` }))
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo

  return {
    url: `http://127.0.0.1:${port}`,
    token,
    commands,
    get inFlight() {
      return inFlight
    },
    waitForCommand(predicate, fromIndex = commands.length) {
      const seen = commands.slice(fromIndex).find(predicate)
      if (seen) return Promise.resolve(seen)
      return new Promise((resolve) => watchers.add({ predicate, resolve }))
    },
    async close() {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
      for (const connection of idle.splice(0)) connection.destroy()
    },
  }
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')))
    req.on('error', reject)
  })
}

/** Upstash takes strings, numbers and booleans as arguments, as their text. */
function toCommand(value: unknown): Command {
  if (!Array.isArray(value) || value.length === 0) throw new Error('a command is a non-empty JSON array')
  return value.map((arg) => {
    if (typeof arg === 'string') return arg
    if (typeof arg === 'number' || typeof arg === 'boolean') return String(arg)
    throw new Error(`unsupported argument ${JSON.stringify(arg)}`)
  })
}

function toJson(reply: RespReply, base64: boolean): unknown {
  const text = (bytes: Buffer) => (base64 ? bytes.toString('base64') : bytes.toString('utf8'))
  switch (reply.type) {
    case 'status':
      return reply.value === 'OK' || !base64 ? reply.value : text(Buffer.from(reply.value))
    case 'error':
      return reply.message
    case 'integer':
      return reply.value
    case 'bulk':
      return reply.value === null ? null : text(reply.value)
    case 'array':
      return reply.items === null ? null : reply.items.map((item) => toJson(item, base64))
  }
}
