import { wsconnect } from '@nats-io/nats-core'
import { DeliverPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream'
import { currentNatsServerBinary, startNatsServer } from '../nats-server'
import type { Delivery } from './delivery-count'
import { feedSchema, type Feed } from './feed'
import { proxyFaults, type FaultDurations } from './proxy-faults'
import { retry } from './retry'
import { startTcpProxy } from './tcp-proxy'

const subject = (run: string) => `rel.${run}`

/** NATS JetStream: an own nats-server 2.12 (restartable, with monitoring), reached by the function through the proxy. */
export async function startJetStreamFeed(durations: FaultDurations): Promise<Feed> {
  const nats = await startNatsServer(currentNatsServerBinary())
  const proxy = await startTcpProxy(Number(new URL(nats.wsUrl).port))
  // The producer's own connection goes straight to the server and reconnects after restarts.
  const nc = await wsconnect({ servers: nats.wsUrl, maxReconnectAttempts: -1, reconnectTimeWait: 100, name: 'reliability-admin' })
  const js = jetstream(nc, { timeout: 1000 })
  const jsm = await jetstreamManager(nc, { timeout: 2000 })

  return {
    provider: 'jetstream',
    env: {
      SCHEMA: feedSchema('@edfs__natsSubscribe(subjects: ["rel.{{ args.run }}"], providerId: "default")'),
      NATS_DEFAULT_URL: `ws://127.0.0.1:${proxy.port}`,
    },
    lanes: 1,
    async prepare(run) {
      await retry(() => jsm.streams.add({ name: run, subjects: [subject(run)] }))
    },
    async publish(run, events) {
      // The message id makes a retried publish land once (JetStream's duplicate window).
      await retry(() => Promise.all(events.map((e) => js.publish(subject(run), JSON.stringify(e), { msgID: `${run}-${e.n}` }))))
    },
    async readLog(run) {
      const { state } = await retry(() => jsm.streams.info(run))
      const consumer = await js.consumers.get(run, { deliver_policy: DeliverPolicy.All })
      const log: Delivery[] = []
      while (log.length < state.messages) {
        const batch = await consumer.fetch({ max_messages: 5000, expires: 2000 })
        for await (const m of batch) log.push(m.json<Delivery>())
      }
      await consumer.delete()
      return log
    },
    async held(run) {
      // The function names its connections edge-stream; the monitoring port lists them all.
      const connz = (await (await fetch(`${nats.monitorUrl}/connz?limit=100000`)).json()) as { connections?: { name?: string }[] }
      return {
        consumers: (await jsm.streams.info(run)).state.consumer_count,
        connections: (connz.connections ?? []).filter((c) => c.name === 'edge-stream').length,
        proxiedConnections: proxy.open,
      }
    },
    faults: [...proxyFaults(proxy, durations), { kind: 'broker-restart', inject: () => nats.restart() }],
    async close() {
      await nc.close()
      await proxy.close()
      await nats.stop()
    },
  }
}
