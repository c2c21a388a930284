/**
 * Vercel entry for its Node.js runtime, bundled by scripts/vercel-output.ts. Vercel's
 * Node.js launcher calls the default export with Node's request and response;
 * @hono/node-server turns them into the Web Request the app takes and streams the
 * Response back, aborting the request's signal when the client goes away.
 * Node before 22 has no global WebSocket, which nats-core's wsconnect needs (without
 * it the connect never settles), so `ws` provides it.
 */
import { getRequestListener } from '@hono/node-server'
import WebSocket from 'ws'
import { nodeUpstashClient } from '../providers/redis/upstash-node'
import { createVercelHandler } from './vercel'

globalThis.WebSocket ??= WebSocket as unknown as typeof globalThis.WebSocket

/** Just below the function's maxDuration of 300 s (the default on every plan). */
export default getRequestListener(createVercelHandler({ MAX_STREAM_SECONDS: '290' }, { upstashClient: nodeUpstashClient }))
