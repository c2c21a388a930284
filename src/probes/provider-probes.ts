/**
 * Probes of the configured brokers at start (Node) or first use (Workers): a wrong URL is
 * found by the operator's log, not by the first client. Each problem is one warning naming the
 * variable and the URL (never a credential: user info and query are dropped); the server
 * serves either way, as a broker may come up later.
 */
import { kafkaSettings, natsSettings, redisSettings } from '../config/providers'
import type { Env } from '../config/env'
import { envId } from '../config/env'
import type { ProviderKind } from '../graphql/schema'
import type { Logger } from '../log'
import { providerKey } from '../providers/provider'

/** One URL to check: a NATS WebSocket listener, or a Kafka/Redis HTTP endpoint. */
export interface ProbeTarget {
  /** `kind:providerId`, as providers are registered. */
  provider: string
  variable: string
  /** The URL as configured, credentials included: for connecting only, never logged. */
  url: string
  /** The URL as logged. */
  shown: string
  protocol: 'websocket' | 'http'
}

/** What is wrong with a target, in words for the log, or undefined when it answered as it should. */
export type Probe = (target: ProbeTarget, timeoutMs: number) => Promise<string | undefined>

/** The URL without user info, query or fragment (where tokens travel). */
export function showUrl(url: string): string {
  try {
    const parsed = new URL(url)
    return `${parsed.protocol}//${parsed.host}${parsed.pathname}`
  } catch {
    return '(unparsable URL)'
  }
}

/** The URL as probes request it: credentials travel in headers or not at all (fetch refuses user info). */
function requestUrl(url: string): string {
  const parsed = new URL(url)
  parsed.username = ''
  parsed.password = ''
  return parsed.href
}

/** An error's words for the log: the system's code where there is one, never the URL it may quote. */
export function describeError(error: unknown, target: ProbeTarget): string {
  const cause = error instanceof Error ? (error.cause as { code?: unknown } | undefined) : undefined
  const text = typeof cause?.code === 'string' ? cause.code : error instanceof Error ? error.message : String(error)
  return text.split(target.url).join(target.shown).split(requestUrl(target.url)).join(target.shown).replace(/\/\/[^/\s@]*@/g, '//')
}

/** The URLs behind the provider `providerId` of `kind`; none for the embedded broker. */
export function probeTargets(kind: ProviderKind, providerId: string, env: Env): ProbeTarget[] {
  const provider = providerKey(kind, providerId)
  const id = envId(providerId)
  if (kind === 'nats') {
    const servers = natsSettings(env, providerId)?.servers ?? []
    return servers
      .filter((url) => url !== 'memory:')
      .map((url) => ({ provider, variable: `NATS_${id}_URL`, url, shown: showUrl(url), protocol: 'websocket' }))
  }
  const url = kind === 'kafka' ? kafkaSettings(env, providerId).url : redisSettings(env, providerId).url
  return [{ provider, variable: `${kind.toUpperCase()}_${id}_URL`, url, shown: showUrl(url), protocol: 'http' }]
}

/** The hosts of each provider's targets, for log lines about its failures. */
export function providerHosts(targets: readonly ProbeTarget[]): Map<string, string> {
  const hosts = new Map<string, string[]>()
  for (const target of targets) {
    const host = hostOf(target.url)
    const list = hosts.get(target.provider) ?? []
    if (!list.includes(host)) list.push(host)
    hosts.set(target.provider, list)
  }
  return new Map([...hosts].map(([provider, list]) => [provider, list.join(',')]))
}

const hostOf = (url: string): string => {
  try {
    return new URL(url).host
  } catch {
    return '(unparsable URL)'
  }
}

/** Checks every target at once; logs one `provider.unreachable` warning per target with a problem. */
export async function probeProviders(targets: readonly ProbeTarget[], probe: Probe, log: Logger, timeoutMs = 5000): Promise<void> {
  await Promise.all(
    targets.map(async (target) => {
      let problem: string | undefined
      try {
        problem = await probe(target, timeoutMs)
      } catch (error) {
        problem = `could not be checked: ${describeError(error, target)}`
      }
      if (problem !== undefined) {
        log('warn', 'provider.unreachable', {
          variable: target.variable,
          url: target.shown,
          provider: target.provider,
          problem,
          consequence: 'streams of this provider fail with UPSTREAM_UNAVAILABLE until it answers',
        })
      }
    }),
  )
}

/**
 * A probe with fetch alone (Workers): HTTP endpoints must answer at all; a NATS URL must
 * accept a WebSocket upgrade (workerd's fetch performs one when asked with `Upgrade: websocket`).
 */
export const fetchProbe: Probe = async (target, timeoutMs) => {
  const url = requestUrl(target.protocol === 'websocket' ? target.url.replace(/^ws/, 'http') : target.url)
  let response: Response
  try {
    response = await fetch(url, {
      signal: AbortSignal.timeout(timeoutMs),
      ...(target.protocol === 'websocket' ? { headers: { Upgrade: 'websocket' } } : {}),
    })
  } catch (error) {
    const detail = describeError(error, target)
    // workerd's fetch cannot show what a non-HTTP port said; the Node probe can (node-probe.ts).
    return target.protocol === 'websocket'
      ? `is down or is not a WebSocket listener (${detail}); a NATS client (TCP) port, instead of the websocket listener's, fails this way too`
      : `is unreachable (${detail})`
  }
  if (target.protocol === 'http') return undefined
  const socket = (response as Response & { webSocket?: { accept(): void; close(): void } | null }).webSocket
  if (response.status === 101 && socket) {
    socket.accept()
    socket.close()
    return undefined
  }
  await response.body?.cancel()
  return `answers HTTP ${response.status} instead of a WebSocket upgrade: not a NATS WebSocket listener`
}
