/** Requests a fetch client refuses to send, written byte for byte on a socket. */
import { connect } from 'node:net'

const valid = encodeURIComponent('subscription { events(stream: "s", topic: "a") { n } }')
const head = (requestLine: string | Buffer, headers = 'Host: x\r\nConnection: close\r\n') =>
  Buffer.concat([Buffer.isBuffer(requestLine) ? requestLine : Buffer.from(requestLine, 'latin1'), Buffer.from(`\r\n${headers}\r\n`, 'latin1')])

export const malformedHttp: [string, Buffer][] = [
  ['broken percent-encodings', head('GET /graphql/stream?query=%ZZ%C3%28&variables=%7B%E0%A4%A HTTP/1.1')],
  ['raw non-UTF-8 bytes in the URL', head(Buffer.concat([Buffer.from('GET /graphql/stream?query='), Buffer.from([0xff, 0xfe, 0xc3, 0x28]), Buffer.from(' HTTP/1.1')]))],
  ['Latin-1 bytes in Last-Event-ID and Authorization', head(`GET /graphql/stream?query=${valid} HTTP/1.1`, 'Host: x\r\nConnection: close\r\nLast-Event-ID: 1.\xff\xfe.\xe9\r\nAuthorization: Bearer \xe9.\xe9.\xe9\r\n')],
  ['a NUL in a header value', head(`GET /graphql/stream?query=${valid} HTTP/1.1`, 'Host: x\r\nConnection: close\r\nLast-Event-ID: 1\x00\r\n')],
  ['a header folded over two lines', head(`GET /graphql/stream?query=${valid} HTTP/1.1`, 'Host: x\r\nConnection: close\r\nLast-Event-ID: 1.\r\n  folded\r\n')],
  ['a 20 KB header', head(`GET /graphql/stream?query=${valid} HTTP/1.1`, `Host: x\r\nConnection: close\r\nCookie: session=${'a'.repeat(20_000)}\r\n`)],
  ['a 20 KB URL', head(`GET /graphql/stream?query=${'a'.repeat(20_000)} HTTP/1.1`)],
  ['Content-Length and Transfer-Encoding together', head('POST /graphql/stream HTTP/1.1', 'Host: x\r\nConnection: close\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n')],
  ['an invalid chunk size', Buffer.concat([head('POST /graphql/stream HTTP/1.1', 'Host: x\r\nConnection: close\r\nTransfer-Encoding: chunked\r\nContent-Type: application/json\r\n'), Buffer.from('zz\r\n{}\r\n0\r\n\r\n')])],
  ['a lower-case method', head('get /graphql/stream HTTP/1.1')],
  ['an absolute-form target of another host', head(`GET http://evil.example/graphql/stream?query=${valid}&from=x HTTP/1.1`)],
  ['HTTP/1.0 without Host', Buffer.from(`GET /graphql/stream?query=${valid}&from=x HTTP/1.0\r\n\r\n`)],
  ['no version', Buffer.from('GET /graphql/stream\r\n\r\n')],
]

/** Sends the bytes and returns the status line and headers of the answer (the body is not awaited). */
export function rawExchange(baseUrl: string, bytes: Buffer, timeoutMs = 5000): Promise<string> {
  const { hostname, port } = new URL(baseUrl)
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname)
    let answer = ''
    const done = () => {
      clearTimeout(timer)
      socket.destroy()
      resolve(answer)
    }
    const timer = setTimeout(() => {
      socket.destroy()
      reject(new Error(`no answer within ${timeoutMs} ms; got ${JSON.stringify(answer.slice(0, 200))}`))
    }, timeoutMs)
    socket.on('data', (chunk) => {
      answer += chunk.toString('latin1')
      if (answer.includes('\r\n\r\n')) done()
    })
    socket.on('end', done)
    socket.on('error', done)
    socket.write(bytes)
  })
}
