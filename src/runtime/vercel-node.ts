/**
 * Vercel entry for its Node.js runtime: Web-standard handlers per HTTP method.
 * Node before 22 has no global WebSocket, which nats-core's wsconnect needs (without
 * it the connect never settles), so `ws` provides it; SCHEMA_PATH can name a file
 * bundled with the function (`includeFiles` in vercel.json).
 */
import { readFileSync } from 'node:fs'
import WebSocket from 'ws'
import { nodeUpstashClient } from '../providers/upstash-node'
import { createVercelHandler } from './vercel'

globalThis.WebSocket ??= WebSocket as unknown as typeof globalThis.WebSocket

/** Just below the `maxDuration` of 300 s that vercel.json sets (the default on every plan). */
const handler = createVercelHandler(
  { MAX_STREAM_SECONDS: '290' },
  { readFile: (path) => readFileSync(path, 'utf8'), upstashClient: nodeUpstashClient },
)

export { handler as GET, handler as POST, handler as OPTIONS }
