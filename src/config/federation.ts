/**
 * The variables of entity resolution in a federated graph: subgraph URLs that replace the
 * execution config's routing URLs, the subgraph timeout, and which client headers reach subgraphs.
 */
import { ConfigError, envId, integer, list, type Env } from './env'

export interface FederationConfig {
  /** Each subgraph request, and all hops of one batch of events, end after this long (Cosmo's default: 10 s). */
  subgraphTimeoutMs: number
  /** Client request headers passed on to subgraphs, lower-cased; none by default. */
  forwardHeaders: string[]
  /** `SUBGRAPH_<NAME>_URL` of a subgraph, when set. */
  subgraphUrl(subgraphName: string): string | undefined
}

export function readFederationConfig(env: Env): FederationConfig {
  const forwardHeaders = list(env.FORWARD_HEADERS).map((name) => name.toLowerCase())
  const bad = forwardHeaders.find((name) => !/^[!#$%&'*+.^_`|~0-9a-z-]+$/.test(name))
  if (bad !== undefined) throw new ConfigError('FORWARD_HEADERS', `"${bad}" is not a header name`)
  if (env.SUBGRAPH_REQUESTS_PER_STREAM) {
    throw new ConfigError('SUBGRAPH_REQUESTS_PER_STREAM', 'was replaced by MAX_SUBREQUESTS, which counts every request of a stream on Workers; remove it')
  }
  return {
    subgraphTimeoutMs: integer(env, 'SUBGRAPH_TIMEOUT_MS', 10_000, 1, 600_000, 'milliseconds'),
    forwardHeaders,
    subgraphUrl(subgraphName) {
      const variable = `SUBGRAPH_${envId(subgraphName)}_URL`
      const url = env[variable]
      if (!url) return undefined
      if (!/^https?:\/\/[^\s]+$/.test(url)) throw new ConfigError(variable, `must be an http:// or https:// URL, got "${url}"`)
      return url
    },
  }
}
