import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort } from './ports'
import { ensureCommand, startProcess } from './processes'

export interface NatsServer {
  /** ws://127.0.0.1:port, what the function connects to. */
  wsUrl: string
  stop(): Promise<void>
}

/** A real nats-server with JetStream and a WebSocket listener on free loopback ports. */
export async function startNatsServer(): Promise<NatsServer> {
  ensureCommand('nats-server', 'nats-server')
  const dir = mkdtempSync(join(tmpdir(), 'edge-stream-nats-'))
  const [port, wsPort] = [await freePort(), await freePort()]
  const configFile = join(dir, 'nats.conf')
  writeFileSync(
    configFile,
    [
      'host: 127.0.0.1',
      `port: ${port}`,
      `jetstream { store_dir: "${join(dir, 'js')}" }`,
      `websocket { host: 127.0.0.1, port: ${wsPort}, no_tls: true }`,
    ].join('\n'),
  )
  const server = await startProcess('nats-server', ['-c', configFile], /Server is ready/)
  return {
    wsUrl: `ws://127.0.0.1:${wsPort}`,
    async stop() {
      await server.stop()
      rmSync(dir, { recursive: true, force: true })
    },
  }
}
