/**
 * The Node probe: NATS URLs by hand over a socket, so that the answer can be told apart —
 * a WebSocket upgrade (101), another HTTP answer, or the NATS client port's `INFO {…}` greeting
 * (a URL pointing at port 4222 instead of the `websocket` listener). HTTP endpoints with fetch.
 */
import { randomBytes } from 'node:crypto'
import { connect, type Socket } from 'node:net'
import { connect as connectTls } from 'node:tls'
import { describeError, fetchProbe, type Probe, type ProbeTarget } from './provider-probes'

export const nodeProbe: Probe = (target, timeoutMs) =>
  target.protocol === 'websocket' ? probeWebSocket(target, timeoutMs) : fetchProbe(target, timeoutMs)

function probeWebSocket(target: ProbeTarget, timeoutMs: number): Promise<string | undefined> {
  const url = new URL(target.url)
  return new Promise((resolve) => {
    const secure = url.protocol === 'wss:'
    const port = Number(url.port || (secure ? 443 : 80))
    const host = url.hostname.replace(/^\[|\]$/g, '')
    const socket: Socket = secure ? connectTls({ host, port, servername: host }) : connect({ host, port })
    let answer = ''
    const done = (problem: string | undefined) => {
      clearTimeout(timer)
      socket.destroy()
      resolve(problem)
    }
    const timer = setTimeout(() => done(`did not answer within ${timeoutMs} ms`), timeoutMs)
    socket.once(secure ? 'secureConnect' : 'connect', () => {
      socket.write(
        `GET ${url.pathname || '/'} HTTP/1.1\r\nHost: ${url.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
      )
    })
    socket.on('data', (chunk: Buffer) => {
      answer += chunk.toString('latin1')
      if (answer.startsWith('INFO ')) {
        return done('answers INFO {…}: this is the NATS client (TCP) port, not its WebSocket listener (the port of `websocket { … }` in nats.conf)')
      }
      const line = answer.indexOf('\r\n')
      if (line < 0 && answer.length < 200) return
      const status = /^HTTP\/\d(?:\.\d)? (\d{3})/.exec(answer)?.[1]
      if (status === '101') return done(undefined)
      done(status ? `answers HTTP ${status} instead of a WebSocket upgrade: not a NATS WebSocket listener` : `answers ${JSON.stringify(answer.slice(0, 40))}, not HTTP: not a NATS WebSocket listener`)
    })
    socket.once('end', () => done(answer === '' ? 'closed the connection without an answer' : `answers ${JSON.stringify(answer.slice(0, 40))}, not HTTP: not a NATS WebSocket listener`))
    socket.once('error', (error: NodeJS.ErrnoException) => done(`is down (${error.code ?? describeError(error, target)})`))
  })
}
