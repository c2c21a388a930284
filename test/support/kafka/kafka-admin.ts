import { Kafka, logLevel, Partitioners, type Admin, type Producer } from 'kafkajs'

/** A test's own Kafka client (kafkajs over the Kafka protocol) to create topics, produce and delete records. */
export interface KafkaAdmin {
  createTopic(topic: string, partitions: number): Promise<void>
  /** Produces in order; each message goes to the partition given. */
  produce(topic: string, messages: { partition: number; key: string; value: unknown }[]): Promise<void>
  /** Produces values as they are: text that need not be JSON, or null (a tombstone). */
  produceRaw(topic: string, messages: { partition: number; key: string; value: string | null }[]): Promise<void>
  /** Deletes the records of a partition below `offset` (what retention does). */
  deleteRecords(topic: string, partition: number, offset: number): Promise<void>
  addPartitions(topic: string, total: number): Promise<void>
  /** Log start (`low`) and log end (`high`) of each partition. */
  offsets(topic: string): Promise<{ partition: number; low: number; high: number }[]>
  close(): Promise<void>
}

export async function connectKafkaAdmin(bootstrap: string): Promise<KafkaAdmin> {
  const kafka = new Kafka({ brokers: [bootstrap], clientId: 'edge-stream-test-admin', logLevel: logLevel.NOTHING })
  const admin: Admin = kafka.admin()
  // Idempotent: kafkajs retries a send whose answer is late (a loaded machine), which would otherwise write its records twice.
  const newProducer = () =>
    kafka.producer({ allowAutoTopicCreation: false, createPartitioner: Partitioners.DefaultPartitioner, idempotent: true, maxInFlightRequests: 1 })
  let producer: Producer = newProducer()
  await Promise.all([admin.connect(), producer.connect()])
  return {
    async createTopic(topic, partitions) {
      await admin.createTopics({ topics: [{ topic, numPartitions: partitions }] })
      // kafkajs's own waitForLeaders gives up on the broker's first "unknown topic" answer; this waits, bounded.
      // A partition with a leader in the metadata may not be hosted yet ("does not host this topic-partition"):
      // it is ready once its offsets are answered.
      for (let attempt = 1; ; attempt++) {
        const led = await admin.fetchTopicMetadata({ topics: [topic] }).then(
          ({ topics }) => topics[0]?.partitions.length === partitions && topics[0].partitions.every((p) => p.leader >= 0),
          () => false,
        )
        const ready = led && (await admin.fetchTopicOffsets(topic).then((offsets) => offsets.length === partitions, () => false))
        if (ready) return
        if (attempt === 100) throw new Error(`topic ${topic} has no leaders after ${attempt} attempts`)
        await new Promise((resolve) => setTimeout(resolve, 50))
      }
    },
    async produce(topic, messages) {
      for (let i = 0; i < messages.length; i += 1000) {
        await producer.send({
          topic,
          messages: messages.slice(i, i + 1000).map((m) => ({ partition: m.partition, key: m.key, value: JSON.stringify(m.value) })),
        })
      }
    },
    async produceRaw(topic, messages) {
      await producer.send({ topic, messages })
    },
    async deleteRecords(topic, partition, offset) {
      // kafkajs looks the partition leaders up before it loads the topic's metadata: load it first.
      await admin.fetchTopicOffsets(topic)
      await admin.deleteTopicRecords({ topic, partitions: [{ partition, offset: String(offset) }] })
    },
    async addPartitions(topic, total) {
      await admin.createPartitions({ topicPartitions: [{ topic, count: total }] })
      // kafkajs keeps its metadata for minutes and would not send to the new partitions: a new producer loads it afresh.
      await producer.disconnect()
      producer = newProducer()
      await producer.connect()
    },
    async offsets(topic) {
      const offsets = await admin.fetchTopicOffsets(topic)
      return offsets.map((o) => ({ partition: o.partition, low: Number(o.low), high: Number(o.high) })).sort((a, b) => a.partition - b.partition)
    },
    async close() {
      await Promise.all([producer.disconnect(), admin.disconnect()])
    },
  }
}
