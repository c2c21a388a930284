import { createRequire } from 'node:module'

/**
 * The Kafka side of the test HTTP servers: plain Kafka protocol requests (Metadata,
 * ListOffsets, Fetch) to the real test broker. kafkajs's public API reads only
 * through consumer groups, so its Cluster/Broker classes are used directly: they
 * send exactly one Kafka request per call. The test broker is a single node, so it
 * leads every partition and the seed broker answers everything.
 */
const require = createRequire(import.meta.url)
const Cluster = require('kafkajs/src/cluster') as new (options: Record<string, unknown>) => KafkajsCluster
const { createLogger, LEVELS } = require('kafkajs/src/loggers') as {
  createLogger(options: { level: number; logCreator: unknown }): unknown
  LEVELS: { NOTHING: number }
}
const logCreator = require('kafkajs/src/loggers/console') as unknown
const socketFactory = require('kafkajs/src/network/socketFactory') as () => unknown

interface KafkajsCluster {
  connect(): Promise<void>
  disconnect(): Promise<void>
  brokerPool: { seedBroker: KafkajsBroker }
}

interface KafkajsMessage {
  offset: string
  timestamp: string
  key: Buffer | null
  value: Buffer | null
  headers: Record<string, Buffer | Buffer[] | undefined>
  isControlRecord?: boolean
}

interface KafkajsBroker {
  metadata(topics: string[]): Promise<{ topicMetadata: { topic: string; isInternal?: boolean; partitionMetadata: unknown[] }[] }>
  listOffsets(request: {
    isolationLevel: number
    topics: { topic: string; partitions: { partition: number; timestamp: number }[] }[]
  }): Promise<{ responses: { topic: string; partitions: { partition: number; offset: string }[] }[] }>
  fetch(request: {
    replicaId: number
    isolationLevel: number
    maxWaitTime: number
    minBytes: number
    maxBytes: number
    topics: { topic: string; partitions: { partition: number; fetchOffset: string; maxBytes: number }[] }[]
  }): Promise<{ responses: { partitions: { messages: KafkajsMessage[] }[] }[] }>
}

export interface BackendRecord {
  offset: number
  timestamp: number
  key: Buffer | null
  value: Buffer | null
  headers: { key: string; value: string }[]
}

export type FetchOutcome = { records: BackendRecord[] } | 'out-of-range' | 'unknown-partition'

const EARLIEST = -2
const LATEST = -1
const READ_UNCOMMITTED = 0

export class KafkaBackend {
  /** One connection per request in flight: the broker answers a connection's requests one at a time. */
  private readonly idle: KafkajsCluster[] = []
  private readonly all = new Set<KafkajsCluster>()

  constructor(private readonly bootstrap: string) {}

  /** Topic name -> partition count, internal topics left out. */
  async topics(): Promise<Map<string, number>> {
    const metadata = await this.use((broker) => broker.metadata([]))
    return new Map(
      metadata.topicMetadata.filter((t) => !t.isInternal && !t.topic.startsWith('__')).map((t) => [t.topic, t.partitionMetadata.length]),
    )
  }

  /** The earliest or latest offset of a partition, or the first at/after a timestamp (ms); undefined when unknown. */
  async offset(topic: string, partition: number, at: 'earliest' | 'latest' | number): Promise<number | undefined> {
    const timestamp = at === 'earliest' ? EARLIEST : at === 'latest' ? LATEST : at
    try {
      const answer = await this.use((broker) => broker.listOffsets({ isolationLevel: READ_UNCOMMITTED, topics: [{ topic, partitions: [{ partition, timestamp }] }] }))
      return Number(answer.responses[0]!.partitions[0]!.offset)
    } catch (error) {
      if (isKafkaError(error, 'UNKNOWN_TOPIC_OR_PARTITION')) return undefined
      throw error
    }
  }

  /** Whole record batches from the one containing `offset`, as Kafka's Fetch returns them. */
  async fetch(topic: string, partition: number, offset: number, waitMs: number, maxBytes: number): Promise<FetchOutcome> {
    try {
      const answer = await this.use((broker) =>
        broker.fetch({
          replicaId: -1,
          isolationLevel: READ_UNCOMMITTED,
          maxWaitTime: waitMs,
          minBytes: 1,
          maxBytes,
          topics: [{ topic, partitions: [{ partition, fetchOffset: String(offset), maxBytes }] }],
        }),
      )
      const messages = answer.responses[0]?.partitions[0]?.messages ?? []
      return { records: messages.filter((m) => !m.isControlRecord).map(toRecord) }
    } catch (error) {
      if (isKafkaError(error, 'OFFSET_OUT_OF_RANGE')) return 'out-of-range'
      if (isKafkaError(error, 'UNKNOWN_TOPIC_OR_PARTITION')) return 'unknown-partition'
      throw error
    }
  }

  /** Closes idle connections now; one still waiting in a long poll closes when its answer comes (kafkajs waits for it). */
  async close(): Promise<void> {
    const idle = new Set(this.idle)
    for (const cluster of this.all) if (!idle.has(cluster)) void cluster.disconnect().catch(() => {})
    await Promise.all([...idle].map((cluster) => cluster.disconnect()))
  }

  private async use<T>(request: (broker: KafkajsBroker) => Promise<T>): Promise<T> {
    const cluster = this.idle.pop() ?? (await this.connect())
    try {
      return await request(cluster.brokerPool.seedBroker)
    } finally {
      this.idle.push(cluster)
    }
  }

  private async connect(): Promise<KafkajsCluster> {
    const cluster = new Cluster({
      logger: createLogger({ level: LEVELS.NOTHING, logCreator }),
      socketFactory: socketFactory(),
      brokers: [this.bootstrap],
      clientId: 'edge-stream-test-http',
      connectionTimeout: 3000,
      retry: { retries: 0 },
      allowAutoTopicCreation: false,
    })
    await cluster.connect()
    this.all.add(cluster)
    return cluster
  }
}

function isKafkaError(error: unknown, type: string): boolean {
  return typeof error === 'object' && error !== null && (error as { type?: unknown }).type === type
}

function toRecord(message: KafkajsMessage): BackendRecord {
  return {
    offset: Number(message.offset),
    timestamp: Number(message.timestamp),
    key: message.key,
    value: message.value,
    headers: Object.entries(message.headers).flatMap(([key, value]) =>
      value === undefined ? [] : (Array.isArray(value) ? value : [value]).map((v) => ({ key, value: v.toString() })),
    ),
  }
}
