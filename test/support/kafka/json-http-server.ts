import { createServer, type IncomingMessage } from 'node:http'
import type { AddressInfo } from 'node:net'

export interface JsonRequest {
  method: string
  path: string
  query: URLSearchParams
  headers: IncomingMessage['headers']
  /** The request body as text ('' when none). */
  body: string
}

export interface JsonReply {
  status: number
  body: unknown
  contentType?: string
}

export interface RunningHttpServer {
  url: string
  port: number
  /** Requests received so far, by path. */
  requests: Map<string, number>
  /** The requests being answered right now (long polls included). */
  active: Set<JsonRequest>
  /** Closes the listener and every open connection, as a crashed proxy would. */
  stop(): Promise<void>
}

/** A small HTTP/1.1 JSON server on 127.0.0.1 for the test translations; `port` 0 picks a free one. */
export function serveJson(handle: (request: JsonRequest) => Promise<JsonReply>, port = 0): Promise<RunningHttpServer> {
  const requests = new Map<string, number>()
  const active = new Set<JsonRequest>()
  const server = createServer((req, res) => {
    let body = ''
    req.setEncoding('utf8')
    req.on('data', (chunk: string) => (body += chunk))
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://localhost')
      requests.set(url.pathname, (requests.get(url.pathname) ?? 0) + 1)
      const request: JsonRequest = { method: req.method ?? 'GET', path: url.pathname, query: url.searchParams, headers: req.headers, body }
      active.add(request)
      handle(request)
        .catch((error: unknown): JsonReply => ({ status: 500, body: { error: String(error), status: 500 } }))
        .then((reply) => {
          active.delete(request)
          if (res.destroyed) return
          res.writeHead(reply.status, { 'Content-Type': reply.contentType ?? 'application/json' })
          res.end(JSON.stringify(reply.body))
        })
    })
  })
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, '127.0.0.1', () => {
      const { port: bound } = server.address() as AddressInfo
      resolve({
        url: `http://127.0.0.1:${bound}`,
        port: bound,
        requests,
        active,
        stop: () =>
          new Promise<void>((done) => {
            server.close(() => done())
            server.closeAllConnections()
          }),
      })
    })
  })
}

/** Whether the request carries `Authorization: Basic` with these credentials (always true when none are set). */
export function basicAuthMatches(headers: IncomingMessage['headers'], username?: string, password?: string): boolean {
  if (username === undefined) return true
  return headers.authorization === `Basic ${Buffer.from(`${username}:${password ?? ''}`).toString('base64')}`
}
