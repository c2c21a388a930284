import { connectKafkaAdmin } from '../../test/support/kafka/kafka-admin'
import { startKafkaBroker } from '../../test/support/kafka/kafka-broker'
import { startTranslation } from '../support/translation'
import { eventType, payload, type ReplayBroker } from './broker'

const TOPIC = 'bench-events'
/** The provider's default `KAFKA_<ID>_MAX_BYTES`. */
const MAX_BYTES = 1_048_576

/**
 * Kafka through the Redpanda HTTP Proxy protocol: a real Apache Kafka broker behind
 * the tests' proxy translation, read with fetch on both sides.
 */
export async function startKafkaReplay(total: number): Promise<ReplayBroker> {
  const broker = await startKafkaBroker()
  const admin = await connectKafkaAdmin(broker.bootstrap)
  await admin.createTopic(TOPIC, 1)
  await admin.produce(TOPIC, Array.from({ length: total }, (_, i) => ({ partition: 0, key: 'k', value: JSON.parse(payload(i + 1)) as unknown })))
  await admin.close()
  const proxy = await startTranslation('redpanda', broker.bootstrap)
  return {
    name: 'kafka',
    env: {
      SCHEMA: `${eventType}\ntype Subscription { events: Event! @edfs__kafkaSubscribe(topics: ["${TOPIC}"], providerId: "default") }`,
      KAFKA_DEFAULT_URL: proxy.url,
      KAFKA_DEFAULT_ADAPTER: 'redpanda',
    },
    async readRaw(count) {
      // The same protocol as the provider: records from an offset, binary (base64) values.
      let offset = 0
      let read = 0
      while (read < count) {
        const response = await fetch(`${proxy.url}/topics/${TOPIC}/partitions/0/records?offset=${offset}&timeout=0&max_bytes=${MAX_BYTES}`, {
          headers: { Accept: 'application/vnd.kafka.binary.v2+json' },
        })
        const records = (await response.json()) as { offset: number; value: string }[]
        if (response.status !== 200 || records.length === 0) throw new Error(`the partition ended after ${read} of ${count} records`)
        for (const record of records) {
          if (record.offset < offset) continue // whole record batches: the first may start below the offset
          JSON.parse(Buffer.from(record.value, 'base64').toString('utf8'))
          offset = record.offset + 1
          if (++read === count) break
        }
      }
    },
    async stop() {
      await proxy.stop()
      await broker.stop()
    },
  }
}
