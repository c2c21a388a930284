import { Kafka, logLevel, type Admin } from 'kafkajs'
import { BrokerConnection, KafkaErrorCode, type FetchedRecord } from './kafka-fetch'

export type BackendRecord = FetchedRecord

export type FetchOutcome = { records: BackendRecord[] } | 'out-of-range' | 'unknown-partition'

interface Address {
  host: string
  port: number
}

/**
 * The Kafka side of the test HTTP servers, on a single broker or a cluster: topics and
 * partition leaders through kafkajs's public admin API, offsets and records by a
 * ListOffsets or Fetch to the partition's leader (kafka-fetch.ts), tried once more of a leader
 * looked up again; after that the error is the HTTP server's 500.
 */
export class KafkaBackend {
  private readonly kafka: Kafka
  private admin: Promise<Admin> | undefined
  /** Leader node of each partition, by topic, as the metadata last said. */
  private readonly leaders = new Map<string, Map<number, number>>()
  private brokers = new Map<number, Address>()
  /** Idle connections by broker: one request in flight per connection, as the broker answers a connection's requests in order. */
  private readonly idle = new Map<string, BrokerConnection[]>()
  private readonly open = new Set<BrokerConnection>()

  /** `bootstrap`: host:port of one broker or several, comma-separated. */
  constructor(bootstrap: string) {
    this.kafka = new Kafka({ brokers: bootstrap.split(','), clientId: 'edge-stream-test-http', logLevel: logLevel.NOTHING, connectionTimeout: 3000, retry: { retries: 0 } })
  }

  /** Topic name -> partition count, internal topics left out. */
  async topics(): Promise<Map<string, number>> {
    const { topics } = await (await this.connected()).fetchTopicMetadata()
    return new Map(topics.filter((t) => !t.name.startsWith('__')).map((t) => [t.name, t.partitions.length]))
  }

  /**
   * The earliest or latest offset of a partition, or the first at/after a timestamp (ms; the log
   * end when no record is that recent); undefined when the partition is unknown.
   */
  async offset(topic: string, partition: number, at: 'earliest' | 'latest' | number): Promise<number | undefined> {
    const answer = await this.askLeader(topic, partition, async (connection) => {
      const found = await connection.listOffset(topic, partition, at)
      return found.errorCode === 0 && found.offset < 0 ? connection.listOffset(topic, partition, 'latest') : found
    })
    if (answer === 'unknown-partition') return undefined
    if (answer.errorCode !== 0) throw new Error(`Kafka error ${answer.errorCode} listing the ${String(at)} offset of ${topic}/${partition}`)
    return answer.offset
  }

  /** Whole record batches from the one containing `offset`, as Kafka's Fetch returns them. */
  async fetch(topic: string, partition: number, offset: number, waitMs: number, maxBytes: number): Promise<FetchOutcome> {
    const answer = await this.askLeader(topic, partition, (connection) => connection.fetch({ topic, partition, offset, maxWaitMs: waitMs, maxBytes }))
    if (answer === 'unknown-partition') return answer
    if (answer.errorCode === KafkaErrorCode.OFFSET_OUT_OF_RANGE) return 'out-of-range'
    if (answer.errorCode !== 0) throw new Error(`Kafka error ${answer.errorCode} fetching ${topic}/${partition} at ${offset}`)
    return { records: answer.records }
  }

  async close(): Promise<void> {
    for (const connection of this.open) connection.close()
    this.open.clear()
    this.idle.clear()
    const admin = this.admin
    this.admin = undefined
    await (await admin?.catch(() => undefined))?.disconnect()
  }

  /** The partition's leader and its address; undefined when the topic or partition does not exist. */
  private async leader(topic: string, partition: number, lookAgain: boolean): Promise<Address | undefined> {
    if (lookAgain || !this.leaders.get(topic)?.has(partition)) await this.lookUp(topic)
    const node = this.leaders.get(topic)?.get(partition)
    if (node === undefined) return undefined
    const address = this.brokers.get(node)
    if (address === undefined) throw new Error(`${topic}/${partition} has no leader now (node ${node})`)
    return address
  }

  private async lookUp(topic: string): Promise<void> {
    const admin = await this.connected()
    let partitions
    try {
      partitions = (await admin.fetchTopicMetadata({ topics: [topic] })).topics.find((t) => t.name === topic)?.partitions ?? []
    } catch (error) {
      if ((error as { type?: unknown }).type !== 'UNKNOWN_TOPIC_OR_PARTITION') throw error
      this.leaders.delete(topic)
      return
    }
    this.leaders.set(topic, new Map(partitions.map((p) => [p.partitionId, p.leader])))
    this.brokers = new Map((await admin.describeCluster()).brokers.map((b) => [b.nodeId, { host: b.host, port: b.port }]))
  }

  private connected(): Promise<Admin> {
    this.admin ??= (async () => {
      const admin = this.kafka.admin()
      await admin.connect()
      return admin
    })().catch((error: unknown) => {
      this.admin = undefined
      throw error
    })
    return this.admin
  }

  /**
   * `ask` of the partition's leader. As a real HTTP proxy's Kafka client does, a request that
   * fails or meets a moved or dead leader is asked again, once, of the leader looked up again.
   */
  private async askLeader<Answer extends { errorCode: number }>(
    topic: string,
    partition: number,
    ask: (connection: BrokerConnection) => Promise<Answer>,
  ): Promise<Answer | 'unknown-partition'> {
    for (const lookAgain of [false, true]) {
      const leader = await this.leader(topic, partition, lookAgain)
      if (leader === undefined) return 'unknown-partition'
      let answer: Answer
      try {
        answer = await this.withConnection(leader, ask)
      } catch (error) {
        if (lookAgain) throw error
        continue
      }
      const final = answer.errorCode === 0 || answer.errorCode === KafkaErrorCode.OFFSET_OUT_OF_RANGE || lookAgain
      if (!final) continue
      return answer.errorCode === KafkaErrorCode.UNKNOWN_TOPIC_OR_PARTITION ? 'unknown-partition' : answer
    }
    throw new Error('unreachable')
  }

  private async withConnection<T>(address: Address, request: (connection: BrokerConnection) => Promise<T>): Promise<T> {
    const key = `${address.host}:${address.port}`
    const pool = this.idle.get(key) ?? []
    this.idle.set(key, pool)
    let connection: BrokerConnection | undefined
    while ((connection = pool.pop()) && !connection.usable) this.open.delete(connection)
    if (connection === undefined) {
      connection = await BrokerConnection.open(address.host, address.port)
      this.open.add(connection)
    }
    try {
      return await request(connection)
    } finally {
      if (connection.usable && this.open.has(connection)) pool.push(connection)
      else {
        connection.close()
        this.open.delete(connection)
      }
    }
  }
}
