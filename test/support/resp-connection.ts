import { connect, type Socket } from 'node:net'

/**
 * A raw RESP2 connection to redis-server. The Upstash REST translation needs what
 * client libraries hide: whether a string was a status reply (`+OK`) or a bulk
 * string, since the REST API base64-encodes every string except the status `OK`.
 */
export type RespReply =
  | { type: 'status'; value: string }
  | { type: 'error'; message: string }
  | { type: 'integer'; value: number }
  | { type: 'bulk'; value: Buffer | null }
  | { type: 'array'; items: RespReply[] | null }

export class RespConnection {
  private buffer: Buffer = Buffer.alloc(0)
  private readonly waiting: { resolve(reply: RespReply): void; reject(error: Error): void }[] = []
  private failure: Error | undefined

  private constructor(private readonly socket: Socket) {
    socket.on('data', (chunk) => this.receive(chunk))
    socket.on('error', (error) => this.fail(error))
    socket.on('close', () => this.fail(new Error('redis connection closed')))
  }

  static open(port: number): Promise<RespConnection> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port }, () => {
        socket.off('error', reject)
        resolve(new RespConnection(socket))
      })
      socket.once('error', reject)
    })
  }

  get usable(): boolean {
    return this.failure === undefined
  }

  /** Sends the commands in one write (a pipeline) and resolves with their replies in order. */
  send(commands: readonly string[][]): Promise<RespReply[]> {
    if (this.failure) return Promise.reject(this.failure)
    const replies = commands.map(() => new Promise<RespReply>((resolve, reject) => this.waiting.push({ resolve, reject })))
    this.socket.write(Buffer.concat(commands.map(encodeCommand)))
    return Promise.all(replies)
  }

  /** Closes at once; redis-server drops a blocked command of a closed connection. */
  destroy(): void {
    this.fail(new Error('redis connection closed'))
    this.socket.destroy()
  }

  private receive(chunk: Buffer): void {
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk])
    let parsed: [RespReply, number] | undefined
    while (this.waiting.length > 0 && (parsed = parseReply(this.buffer, 0)) !== undefined) {
      this.buffer = this.buffer.subarray(parsed[1])
      this.waiting.shift()!.resolve(parsed[0])
    }
  }

  private fail(error: Error): void {
    this.failure ??= error
    for (const waiter of this.waiting.splice(0)) waiter.reject(error)
  }
}

function encodeCommand(args: readonly string[]): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)]
  for (const arg of args) {
    const bytes = Buffer.from(arg)
    parts.push(Buffer.from(`$${bytes.length}\r\n`), bytes, Buffer.from('\r\n'))
  }
  return Buffer.concat(parts)
}

/** One reply starting at `offset`, and the offset after it; undefined while incomplete. */
function parseReply(buffer: Buffer, offset: number): [RespReply, number] | undefined {
  const lineEnd = buffer.indexOf('\r\n', offset)
  if (lineEnd === -1) return undefined
  const line = buffer.toString('utf8', offset + 1, lineEnd)
  const next = lineEnd + 2
  switch (String.fromCharCode(buffer[offset]!)) {
    case '+':
      return [{ type: 'status', value: line }, next]
    case '-':
      return [{ type: 'error', message: line }, next]
    case ':':
      return [{ type: 'integer', value: Number(line) }, next]
    case '$': {
      const length = Number(line)
      if (length < 0) return [{ type: 'bulk', value: null }, next]
      if (buffer.length < next + length + 2) return undefined
      return [{ type: 'bulk', value: Buffer.from(buffer.subarray(next, next + length)) }, next + length + 2]
    }
    case '*': {
      const count = Number(line)
      if (count < 0) return [{ type: 'array', items: null }, next]
      const items: RespReply[] = []
      let position = next
      for (let i = 0; i < count; i++) {
        const item = parseReply(buffer, position)
        if (!item) return undefined
        items.push(item[0])
        position = item[1]
      }
      return [{ type: 'array', items }, position]
    }
    default:
      throw new Error(`unexpected RESP reply: ${line}`)
  }
}
