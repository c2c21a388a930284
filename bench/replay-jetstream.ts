/**
 * Replay throughput: one SSE stream reading N events from sequence 1, beside the raw
 * JetStream client reading the same events over WebSocket in the same run.
 */
import { DeliverPolicy, jetstream } from '@nats-io/jetstream'
import { wsconnect } from '@nats-io/nats-core'
import WebSocket from 'ws'
import { currentNatsServerBinary, startNatsServer } from '../test/support/nats-server'
import { connectJetStream } from '../test/support/jetstream'
import { openSse } from '../test/support/sse-client'
import { startTarget, type TargetName } from '../test/support/targets'

globalThis.WebSocket ??= WebSocket as unknown as typeof globalThis.WebSocket

const schema = `type Query { ok: Boolean }
type Event { n: Int! pad: String! }
type Subscription { events: Event! @edfs__natsSubscribe(subjects: ["bench.events"], providerId: "default") }`

async function timeIt(run: () => Promise<number>): Promise<number> {
  const started = performance.now()
  const count = await run()
  return count / ((performance.now() - started) / 1000)
}

export async function benchReplay(total: number, rounds: number, targets: TargetName[]) {
  const nats = await startNatsServer(currentNatsServerBinary())
  const admin = await connectJetStream(nats.wsUrl)
  await admin.createStream({ name: 'BENCH', subjects: ['bench.>'] })
  const pad = 'x'.repeat(80)
  for (let n = 1; n <= total; n += 10_000) {
    await admin.publish('bench.events', Array.from({ length: Math.min(10_000, total - n + 1) }, (_, i) => ({ n: n + i, pad })))
  }
  const rawRead = async () => {
    const nc = await wsconnect({ servers: nats.wsUrl })
    const consumer = await jetstream(nc).consumers.get('BENCH', { deliver_policy: DeliverPolicy.All, filter_subjects: 'bench.events' })
    const messages = await consumer.consume({ max_messages: 1000 })
    let count = 0
    for await (const m of messages) {
      JSON.parse(m.string())
      if (++count === total) break
    }
    await nc.close()
    return count
  }
  const sseRead = (baseUrl: string) => async () => {
    const query = 'subscription { events { n pad } }'
    const connection = await openSse(`${baseUrl}/graphql/stream?${new URLSearchParams({ query, from: 'earliest' })}`)
    let count = 0
    while (count < total) {
      const event = await connection.next()
      if (!event) throw new Error('stream ended early')
      if (event.event === 'next') count++
    }
    connection.cut()
    return count
  }
  const results: Record<string, number[]> = { raw: [] }
  const running = await Promise.all(targets.map((name) => startTarget(name, { SCHEMA: schema, NATS_DEFAULT_URL: nats.wsUrl })))
  for (let round = 0; round < rounds; round++) {
    results.raw!.push(await timeIt(rawRead))
    for (const target of running) (results[target.name] ??= []).push(await timeIt(sseRead(target.baseUrl)))
  }
  await Promise.all(running.map((target) => target.close()))
  await admin.close()
  await nats.stop()
  return results
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
  const results = await benchReplay(Number(process.env.EVENTS ?? 100_000), Number(process.env.ROUNDS ?? 3), ['node', 'workerd'])
  for (const [name, rates] of Object.entries(results)) {
    console.log(`${name}: median ${Math.round(median(rates))} events/s (${rates.map(Math.round).join(', ')}) ratio ${(median(rates) / median(results.raw!)).toFixed(2)}`)
  }
}
