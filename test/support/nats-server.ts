import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs'
import { homedir, tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort } from './ports'
import { ensureCommand, startProcess, startRestartable } from './processes'

export interface NatsServer {
  /** ws://127.0.0.1:port, what the function connects to. */
  wsUrl: string
  /** The client (TCP) port, which answers `INFO {…}` where a WebSocket upgrade is expected. */
  clientPort: number
  /** http://127.0.0.1:port of the monitoring endpoints (/connz, /jsz, …), to count what clients hold. */
  monitorUrl: string
  /** Stops the server (SIGTERM, a clean shutdown) and starts it again on the same ports and storage. */
  restart(): Promise<void>
  stop(): Promise<void>
}

/**
 * Production servers run 2.10 to 2.12, which take several filter subjects per consumer;
 * Debian's package is 2.9.10, which takes one. The suites run on both: the current
 * release is built once from its Go module and cached outside the repository.
 */
export const CURRENT_NATS_VERSION = 'v2.12.15'

export function currentNatsServerBinary(): string {
  const bin = join(homedir(), '.cache', 'edge-stream', `nats-server-${CURRENT_NATS_VERSION}`)
  const binary = join(bin, 'nats-server')
  if (existsSync(binary)) return binary
  const result = spawnSync('go', ['install', `github.com/nats-io/nats-server/v2@${CURRENT_NATS_VERSION}`], {
    stdio: 'inherit',
    env: { ...process.env, GOBIN: bin },
  })
  if (result.status !== 0) throw new Error(`go install nats-server ${CURRENT_NATS_VERSION} failed`)
  return binary
}

/** Debian's nats-server 2.9, installed when missing. */
export function debianNatsServerBinary(): string {
  ensureCommand('nats-server', 'nats-server')
  return 'nats-server'
}

/** A real nats-server with JetStream and a WebSocket listener on free loopback ports. */
export async function startNatsServer(binary: string): Promise<NatsServer> {
  const dir = mkdtempSync(join(tmpdir(), 'edge-stream-nats-'))
  const [port, wsPort, httpPort] = [await freePort(), await freePort(), await freePort()]
  const configFile = join(dir, 'nats.conf')
  writeFileSync(
    configFile,
    [
      'host: 127.0.0.1',
      `port: ${port}`,
      `jetstream { store_dir: "${join(dir, 'js')}" }`,
      `websocket { host: 127.0.0.1, port: ${wsPort}, no_tls: true }`,
      `http: 127.0.0.1:${httpPort}`,
    ].join('\n'),
  )
  const start = () => startProcess(binary, ['-c', configFile], /Server is ready/)
  return {
    wsUrl: `ws://127.0.0.1:${wsPort}`,
    clientPort: port,
    monitorUrl: `http://127.0.0.1:${httpPort}`,
    ...(await startRestartable(start, dir)),
  }
}
