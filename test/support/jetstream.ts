import { wsconnect, type NatsConnection } from '@nats-io/nats-core'
import { jetstream, jetstreamManager, type JetStreamManager, type StreamConfig } from '@nats-io/jetstream'

/** A test's own connection to the real nats-server, to create streams and publish. */
export interface JetStreamAdmin {
  nc: NatsConnection
  jsm: JetStreamManager
  createStream(config: Partial<StreamConfig> & { name: string; subjects: string[] }): Promise<void>
  /** Publishes JSON payloads in order and returns their stream sequences. */
  publish(subject: string, payloads: unknown[]): Promise<number[]>
  consumerCount(stream: string): Promise<number>
  close(): Promise<void>
}

export async function connectJetStream(wsUrl: string): Promise<JetStreamAdmin> {
  const nc = await wsconnect({ servers: wsUrl })
  const jsm = await jetstreamManager(nc)
  const js = jetstream(nc)
  return {
    nc,
    jsm,
    async createStream(config) {
      await jsm.streams.add(config)
    },
    async publish(subject, payloads) {
      // Acks are awaited in windows: fast, yet bounded in flight.
      const sequences: number[] = []
      for (let i = 0; i < payloads.length; i += 500) {
        const acks = await Promise.all(payloads.slice(i, i + 500).map((payload) => js.publish(subject, JSON.stringify(payload))))
        sequences.push(...acks.map((ack) => ack.seq))
      }
      return sequences
    },
    async consumerCount(stream) {
      return (await jsm.streams.info(stream)).state.consumer_count
    },
    close: () => nc.close(),
  }
}

