import { DeliverPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream'
import { wsconnect, type NatsConnection } from '@nats-io/nats-core'
import { currentNatsServerBinary, startNatsServer, type NatsServer } from '../../test/support/nats-server'
import { eventType, payload, type ReplayBroker } from './broker'

export interface JetStreamBench {
  wsUrl: string
  /** nats://127.0.0.1:port, the core NATS listener of the same server (for the Cosmo router). */
  natsUrl: string
  /** The benchmark's own connection, to create streams and publish. */
  nc: NatsConnection
  stop(): Promise<void>
}

/** nats-server of the version production runs, on free loopback ports. */
export async function startJetStream(): Promise<JetStreamBench> {
  const server: NatsServer = await startNatsServer(currentNatsServerBinary())
  // Without async traces a publish costs no Error object (and its stack) while seeding.
  const nc = await wsconnect({ servers: server.wsUrl, noAsyncTraces: true })
  const { port } = (await (await fetch(`${server.monitorUrl}/varz`)).json()) as { port: number }
  return {
    wsUrl: server.wsUrl,
    natsUrl: `nats://127.0.0.1:${port}`,
    nc,
    async stop() {
      await nc.close()
      await server.stop()
    },
  }
}

/** Creates a stream holding `count` events on `subject`, event n at sequence n. */
export async function seedStream(nc: NatsConnection, stream: string, subject: string, count: number): Promise<void> {
  const jsm = await jetstreamManager(nc)
  await jsm.streams.add({ name: stream, subjects: [subject] })
  const js = jetstream(nc)
  // Acknowledged publishes in windows: fast, and the stream holds them all when this returns.
  const window = 2000
  for (let first = 1; first <= count; first += window) {
    const acks: Promise<unknown>[] = []
    for (let n = first; n <= Math.min(count, first + window - 1); n++) acks.push(js.publish(subject, payload(n)))
    await Promise.all(acks)
  }
}

/** The schema of the benchmarks' JetStream field `events`, reading `subject`. */
export const jetStreamSchema = (subject: string) =>
  `${eventType}\ntype Subscription { events: Event! @edfs__natsSubscribe(subjects: ["${subject}"], providerId: "default") }`

export async function startJetStreamReplay(total: number): Promise<ReplayBroker> {
  const bench = await startJetStream()
  const subject = 'bench.events'
  await seedStream(bench.nc, 'REPLAY', subject, total)
  return {
    name: 'jetstream',
    env: { SCHEMA: jetStreamSchema(subject), NATS_DEFAULT_URL: bench.wsUrl },
    async readRaw(count) {
      // The client's fastest documented read: an ordered consumer, consume() with large pulls.
      const nc = await wsconnect({ servers: bench.wsUrl })
      const consumer = await jetstream(nc).consumers.get('REPLAY', { deliver_policy: DeliverPolicy.All, filter_subjects: subject })
      const messages = await consumer.consume({ max_messages: 1000 })
      let read = 0
      for await (const m of messages) {
        JSON.parse(m.string())
        if (++read === count) break
      }
      await nc.close()
    },
    stop: () => bench.stop(),
  }
}
