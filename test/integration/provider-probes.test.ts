/**
 * Brokers probed at start (Node entry) and at first use (Workers entry in workerd): one warning
 * per wrong URL naming the variable and the URL without its credentials, the server serving
 * anyway. Real servers: nats-server 2.12's client (TCP) port, which answers INFO instead of a
 * WebSocket upgrade, its WebSocket listener (no warning), and closed ports.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { Miniflare } from 'miniflare'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { currentNatsServerBinary, startNatsServer, type NatsServer } from '../support/nats-server'
import { nodeEntry } from '../support/node-entry'
import { freePort } from '../support/ports'
import { stopChild } from '../support/processes'
import { bundleWorker } from '../support/targets'
import { WORKERD_OPTIONS } from '../support/workerd'

const SECRETS = { natsPass: 'nats-pass-5f1c-never-logged', kafkaPass: 'kafka-pass-77ad-never-logged', redisToken: 'redis-token-e21b-never-logged' }

type Line = { level: string; event: string; variable?: string; url?: string; problem?: string }
const parseLines = (output: string): Line[] =>
  output
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Line)

describe('broker probes', () => {
  let nats: NatsServer
  let tcpPort: number
  let closedPort: number
  const wsUrl = inject('natsWsUrl')

  beforeAll(async () => {
    // A server of our own: its client port is what a wrong NATS_<ID>_URL points at.
    nats = await startNatsServer(currentNatsServerBinary())
    tcpPort = nats.clientPort
    closedPort = await freePort()
  })
  afterAll(async () => {
    await nats?.stop()
  })

  const schema = `
    type T { n: Int! }
    type Query { ok: Boolean }
    type Subscription {
      a: T! @edfs__natsSubscribe(subjects: ["a"], providerId: "tcp")
      b: T! @edfs__natsSubscribe(subjects: ["b"], providerId: "closed")
      c: T! @edfs__natsSubscribe(subjects: ["c"], providerId: "good")
      d: T! @edfs__kafkaSubscribe(topics: ["d"], providerId: "events")
      e: T! @edfs__redisSubscribe(channels: ["e"], providerId: "cache")
    }`
  const env = () => ({
    SCHEMA: schema,
    NATS_TCP_URL: `ws://127.0.0.1:${tcpPort}`,
    NATS_CLOSED_URL: `ws://probe:${SECRETS.natsPass}@127.0.0.1:${closedPort}`,
    NATS_GOOD_URL: wsUrl,
    KAFKA_EVENTS_URL: `http://probe:${SECRETS.kafkaPass}@127.0.0.1:${closedPort}/proxy?token=${SECRETS.kafkaPass}`,
    REDIS_CACHE_URL: `http://127.0.0.1:${closedPort}`,
    REDIS_CACHE_TOKEN: SECRETS.redisToken,
  })

  function expectWarnings(output: string) {
    const warnings = parseLines(output).filter((line) => line.event === 'provider.unreachable')
    expect(warnings.map((line) => line.variable).sort()).toEqual(['KAFKA_EVENTS_URL', 'NATS_CLOSED_URL', 'NATS_TCP_URL', 'REDIS_CACHE_URL'])
    const by = (variable: string) => warnings.find((line) => line.variable === variable)!
    expect(by('NATS_TCP_URL')).toMatchObject({ level: 'warn', url: `ws://127.0.0.1:${tcpPort}/` })
    expect(by('NATS_CLOSED_URL')).toMatchObject({ url: `ws://127.0.0.1:${closedPort}/` })
    expect(by('KAFKA_EVENTS_URL')).toMatchObject({ url: `http://127.0.0.1:${closedPort}/proxy` })
    for (const secret of Object.values(SECRETS)) expect(output).not.toContain(secret)
    return by
  }

  it('Node entry: warns once per wrong URL at start, saying what answered, and serves', async () => {
    const port = await freePort()
    const child: ChildProcess = spawn(process.execPath, nodeEntry, { env: { ...process.env, ...env(), PORT: String(port), SCHEMA_PATH: '' }, stdio: ['ignore', 'pipe', 'pipe'] })
    let output = ''
    child.stdout!.on('data', (chunk) => (output += chunk))
    child.stderr!.on('data', (chunk) => (output += chunk))
    try {
      await expect.poll(() => parseLines(output).filter((line) => line.event === 'provider.unreachable').length, { timeout: 20_000 }).toBe(4)
      const by = expectWarnings(output)
      expect(by('NATS_TCP_URL').problem).toMatch(/^answers INFO \{…\}: this is the NATS client \(TCP\) port, not its WebSocket listener/)
      expect(by('NATS_CLOSED_URL').problem).toBe('is down (ECONNREFUSED)')
      expect(by('KAFKA_EVENTS_URL').problem).toBe('is unreachable (ECONNREFUSED)')
      expect(by('REDIS_CACHE_URL').problem).toBe('is unreachable (ECONNREFUSED)')
      // It serves all the same.
      expect(parseLines(output).some((line) => line.event === 'server.listening')).toBe(true)
      expect((await fetch(`http://127.0.0.1:${port}/graphql/stream?query=${encodeURIComponent('subscription { c { n } }')}`, { method: 'HEAD' })).status).toBe(405)
    } finally {
      await stopChild(child)
    }
  })

  it('Workers entry: warns once per isolate at its first request', async () => {
    let output = ''
    const mf = new Miniflare({
      modules: [{ type: 'ESModule', path: 'workers.js', contents: await bundleWorker() }],
      ...WORKERD_OPTIONS,
      bindings: { LOG_LEVEL: 'info', ...env() },
      handleRuntimeStdio(stdout, stderr) {
        stdout.on('data', (chunk) => (output += chunk))
        stderr.on('data', (chunk) => (output += chunk))
      },
    })
    try {
      const url = await mf.ready
      expect((await fetch(new URL('/nowhere', url))).status).toBe(404)
      await expect.poll(() => parseLines(output).filter((line) => line.event === 'provider.unreachable').length, { timeout: 20_000 }).toBe(4)
      const by = expectWarnings(output)
      expect(by('NATS_TCP_URL').problem).toMatch(/is down or is not a WebSocket listener .*NATS client \(TCP\) port/)
      expect(by('NATS_CLOSED_URL').problem).toMatch(/is down or is not a WebSocket listener/)
      // Later requests probe nothing: by the time one has logged its stream, still the same four.
      const stream = await fetch(new URL(`/graphql/stream?query=${encodeURIComponent('subscription { c { n } }')}`, url))
      await expect.poll(() => parseLines(output).some((line) => line.event === 'stream.open')).toBe(true)
      await stream.body?.cancel()
      expect(parseLines(output).filter((line) => line.event === 'provider.unreachable')).toHaveLength(4)
    } finally {
      await mf.dispose()
    }
  })
})
