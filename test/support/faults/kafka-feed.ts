import { Kafka, logLevel, type Producer } from 'kafkajs'
import { KafkaBackend } from '../kafka/kafka-backend'
import { startKafkaBroker } from '../kafka/kafka-broker'
import { startKafkaHttp, type Adapter } from '../kafka/kafka-fixtures'
import type { Delivery } from './delivery-count'
import { feedSchema, type Feed } from './feed'
import { proxyFaults, type FaultDurations } from './proxy-faults'
import { retry } from './retry'
import { startTcpProxy } from './tcp-proxy'

const PARTITIONS = 3
const topic = (run: string) => `rel.${run}`

/**
 * Kafka: one of the HTTP translations in front of a broker, and the proxy between
 * the function and that HTTP endpoint. A run is one topic of three partitions; the
 * lane of an event is its partition. The broker is an own one, restarted among the
 * faults, unless `shared` names a running one (a broker takes 5 to 15 s to start and
 * as long to restart here: the short runs of `npm test` leave restarts out).
 */
export async function startKafkaFeed(adapter: Adapter, durations: FaultDurations, shared?: string): Promise<Feed> {
  const own = shared === undefined ? await startKafkaBroker() : undefined
  const bootstrap = own?.bootstrap ?? shared!
  const http = await startKafkaHttp(bootstrap, adapter)
  const proxy = await startTcpProxy(http.port)
  const kafka = new Kafka({ brokers: [bootstrap], clientId: 'reliability-producer', logLevel: logLevel.NOTHING, retry: { retries: 10, maxRetryTime: 2000 } })
  const admin = kafka.admin()
  // Idempotent: a send retried after a lost acknowledgement is written once.
  const producer: Producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false })
  await Promise.all([admin.connect(), producer.connect()])
  const reader = new KafkaBackend(bootstrap)

  return {
    provider: 'kafka',
    env: {
      SCHEMA: feedSchema('@edfs__kafkaSubscribe(topics: ["rel.{{ args.run }}"], providerId: "default")'),
      KAFKA_DEFAULT_URL: `http://127.0.0.1:${proxy.port}`,
      KAFKA_DEFAULT_ADAPTER: adapter,
    },
    lanes: PARTITIONS,
    async prepare(run) {
      await retry(() => admin.createTopics({ topics: [{ topic: topic(run), numPartitions: PARTITIONS }], waitForLeaders: true }))
    },
    async publish(run, events) {
      const messages = events.map((e) => ({ partition: e.lane, value: JSON.stringify(e) }))
      await retry(() => producer.send({ topic: topic(run), messages }))
    },
    async readLog(run) {
      const log: Delivery[] = []
      for (let partition = 0; partition < PARTITIONS; partition++) {
        const end = (await reader.offset(topic(run), partition, 'latest')) ?? 0
        for (let offset = (await reader.offset(topic(run), partition, 'earliest')) ?? 0; offset < end; ) {
          const outcome = await reader.fetch(topic(run), partition, offset, 100, 4_194_304)
          if (typeof outcome === 'string') throw new Error(`reading ${topic(run)}/${partition} at ${offset}: ${outcome}`)
          for (const record of outcome.records) {
            if (record.offset < offset) continue
            log.push(JSON.parse(record.value!.toString('utf8')) as Delivery)
            offset = record.offset + 1
          }
        }
      }
      return log
    },
    // Reads over HTTP hold nothing on the broker between requests; what the function holds is its HTTP connections.
    held: async () => ({ proxiedConnections: proxy.open }),
    faults: [...proxyFaults(proxy, durations), ...(own ? [{ kind: 'broker-restart' as const, inject: () => own.restart() }] : [])],
    async close() {
      await Promise.all([producer.disconnect(), admin.disconnect()])
      await reader.close()
      await proxy.close()
      await http.close()
      await own?.stop()
    },
  }
}
