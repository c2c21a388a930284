/**
 * Vercel entry for its Node.js runtime, bundled by scripts/vercel-output.ts. Vercel's
 * Node.js launcher calls the default export with Node's request and response;
 * @hono/node-server turns them into the Web Request the app takes and streams the
 * Response back, aborting the request's signal when the client goes away.
 */
import { getRequestListener } from '@hono/node-server'
import './node-websocket'
import { nodeUpstashClient } from '../providers/redis/upstash-node'
import { createVercelHandler, readBundledFile } from './vercel'

/** Just below the function's maxDuration of 300 s (the default on every plan). */
export default getRequestListener(createVercelHandler({ MAX_STREAM_SECONDS: '290' }, { upstashClient: nodeUpstashClient, readFile: readBundledFile }))
