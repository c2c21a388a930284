/**
 * The Prometheus scrape endpoint of the Node entry: `GET /metrics` on a listener of its own
 * (METRICS_PORT), so that it is never exposed where the streams are.
 */
import { createServer, type Server } from 'node:http'
import type { Registry } from 'prom-client'
import { errorBody } from '../errors'

/** Resolves once listening; rejects with the listen error (port taken, address not available). */
export function serveMetrics(registry: Registry, port: number, hostname: string): Promise<Server> {
  const server = createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0]
    if (path !== '/metrics' || (request.method !== 'GET' && request.method !== 'HEAD')) {
      response.writeHead(404, { 'Content-Type': 'application/json' }).end(JSON.stringify(errorBody('NOT_FOUND', 'Metrics are at GET /metrics')))
      return
    }
    registry.metrics().then(
      (text) => response.writeHead(200, { 'Content-Type': registry.contentType }).end(text),
      () => response.writeHead(500, { 'Content-Type': 'application/json' }).end(JSON.stringify(errorBody('INTERNAL_SERVER_ERROR', 'Internal server error'))),
    )
  })
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, hostname, () => {
      server.off('error', reject)
      resolve(server)
    })
  })
}
