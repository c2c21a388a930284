/**
 * Node entry: `npm start`. One long-lived process: its streams share a NATS connection and,
 * at the head of a route, one reader; SIGINT/SIGTERM end open streams without `complete`.
 * Streams write their frames to the response's socket itself, not through a web ReadableStream.
 */
import { readFileSync } from 'node:fs'
import { serve } from '@hono/node-server'
import './node-websocket'
import { ConfigError } from '../config/env'
import { startDemoTicker } from '../demo/schema'
import { DEFAULT_MAX_STREAMS } from '../limits/stream-limit'
import { serveMetrics } from '../metrics/metrics-server'
import { streamMetrics, type StreamMetrics } from '../metrics/stream-metrics'
import { nodeProbe } from '../probes/node-probe'
import { probeProviders } from '../probes/provider-probes'
import { sharedConnection } from '../providers/nats/nats-connection'
import { nodeUpstashClient } from '../providers/redis/upstash-node'
import { createServerFromEnv } from '../setup'
import { nodeEventStreams } from '../sse/node-response'

const eventStreams = nodeEventStreams()

let server
/** Made only when METRICS_PORT is set: without it, no hook runs for metrics. */
let metrics: StreamMetrics | undefined
try {
  // One process holds every stream it accepts: past MAX_STREAMS it refuses new ones instead of running out of memory.
  server = createServerFromEnv({ MAX_STREAMS: String(DEFAULT_MAX_STREAMS), ...process.env }, {
    readFile: (path) => readFileSync(path, 'utf8'),
    upstashClient: nodeUpstashClient,
    // One long-lived process: its streams share a NATS connection, and their JetStream API
    // requests a second one, where no replay of other streams delays the replies.
    natsConnector: (settings, pingIntervalMs) => sharedConnection(settings, pingIntervalMs, { apiConnection: 'own' }),
    // Its streams at the head of a route share one reader: one consumer and one decode per event.
    shareLiveReads: true,
    hooks: (config) => {
      if (config.metricsPort === undefined) return undefined
      metrics = streamMetrics()
      return metrics.hooks
    },
    // Its streams write to their response's socket (see node-response.ts).
    eventStreamResponse: eventStreams.eventStreamResponse,
  })
} catch (error) {
  if (!(error instanceof ConfigError)) throw error
  console.error(`edge-stream: invalid configuration: ${error.message}`)
  process.exit(1)
}

const { app, config, memoryBroker, log, probeTargets } = server
// A wrong broker URL shows in the log at start, not first at a client; the server serves either way.
void probeProviders(probeTargets, nodeProbe, log)
const stopDemo =
  config.schema.source === 'demo' && memoryBroker
    ? startDemoTicker((subject, payload) => memoryBroker.publish(subject, JSON.stringify(payload)))
    : () => {}

const hostname = process.env.HOST ?? '127.0.0.1'
if (metrics && config.metricsPort !== undefined) {
  const port = config.metricsPort
  serveMetrics(metrics.registry, port, hostname).then(
    () => log('info', 'metrics.listening', { url: `http://${hostname}:${port}/metrics` }),
    (error: unknown) => {
      console.error(`edge-stream: METRICS_PORT: cannot listen on ${hostname}:${port}: ${error instanceof Error ? error.message : String(error)}`)
      process.exit(1)
    },
  )
}

const http = serve({ fetch: eventStreams.fetch(app.fetch), port: config.port, hostname }, (info) => {
  log('info', 'server.listening', { url: `http://${info.address}:${info.port}`, schema: config.schema.source })
  if (config.schema.source === 'demo') console.log(`edge-stream demo: open http://127.0.0.1:${info.port}/`)
})

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    stopDemo()
    // Open streams end without `complete`, so their clients resume on the next instance.
    http.close()
    if ('closeAllConnections' in http) http.closeAllConnections()
    process.exit(0)
  })
}
