import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort } from './ports'
import { ensureCommand, startProcess, startRestartable } from './processes'

export interface RedisServer {
  port: number
  /** Stops the server (SIGTERM) and starts it again on the same port and directory. */
  restart(): Promise<void>
  stop(): Promise<void>
}

/**
 * A real redis-server on a free loopback port. Without persistence by default;
 * `persistent` keeps every write in an append-only file synced at once, so that
 * a restart loses nothing that was acknowledged.
 */
export async function startRedisServer(options: { persistent?: boolean } = {}): Promise<RedisServer> {
  ensureCommand('redis-server', 'redis-server')
  const dir = mkdtempSync(join(tmpdir(), 'edge-stream-redis-'))
  const port = await freePort()
  const persistence = options.persistent ? ['--appendonly', 'yes', '--appendfsync', 'always'] : ['--appendonly', 'no']
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', ...persistence, '--dir', dir]
  const start = () => startProcess('redis-server', args, /Ready to accept connections/)
  return {
    port,
    ...(await startRestartable(start, dir)),
  }
}
