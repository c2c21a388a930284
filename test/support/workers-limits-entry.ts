/**
 * The Workers entry under Cloudflare's per-invocation limits (workers-platform-limits.ts), for
 * tests in workerd. `PLATFORM_SUBREQUESTS` sets the plan's limit (10,000 by default, as on Paid);
 * `GET /__platform-limits` answers what the limits saw.
 */
import { Invocation, invocations, stats } from './workers-platform-limits'
import worker from '../../src/runtime/workers'
import type { ExecutionContext } from 'hono'

export default {
  fetch(request: Request, env: Record<string, string | undefined>, ctx: ExecutionContext): Promise<Response> | Response {
    if (new URL(request.url).pathname === '/__platform-limits') return Response.json(stats)
    const invocation = new Invocation(Number(env.PLATFORM_SUBREQUESTS ?? 10_000), stats)
    return invocations.run(invocation, () => worker.fetch(request, env, ctx))
  },
}
