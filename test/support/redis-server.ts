import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort } from './ports'
import { ensureCommand, startProcess } from './processes'

export interface RedisServer {
  port: number
  stop(): Promise<void>
}

/** A real redis-server on a free loopback port, without persistence. */
export async function startRedisServer(): Promise<RedisServer> {
  ensureCommand('redis-server', 'redis-server')
  const dir = mkdtempSync(join(tmpdir(), 'edge-stream-redis-'))
  const port = await freePort()
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir]
  const server = await startProcess('redis-server', args, /Ready to accept connections/)
  return {
    port,
    async stop() {
      await server.stop()
      rmSync(dir, { recursive: true, force: true })
    },
  }
}
