/**
 * Kafka Fetch (version 4) and ListOffsets (version 1) requests to one broker, over a
 * plain TCP connection, and the decoding of the record batches (magic 2) in a Fetch
 * answer. kafkajs reads records only through consumer groups, which cannot serve a
 * stateless "records of partition p from offset o" as the HTTP proxies do; and its
 * admin answers an offset request from cluster metadata that a concurrent metadata
 * request for another topic replaces (its answer is then empty), so offsets are asked
 * here too, of the partition's leader. Metadata and leaders go through kafkajs's admin.
 *
 * Protocol as in the Apache Kafka protocol guide: request header v1, Fetch v4
 * (READ_UNCOMMITTED or READ_COMMITTED, no fetch sessions), response header v0.
 * Batches are read uncompressed only (the tests' producers do not compress); a
 * batch cut off by `maxBytes` at the end of the answer is left out, as clients do.
 */
import { connect, type Socket } from 'node:net'

export interface FetchedRecord {
  offset: number
  timestamp: number
  /** The epoch of the leader that appended the record's batch. */
  leaderEpoch: number
  key: Buffer | null
  value: Buffer | null
  headers: { key: string; value: Buffer | null }[]
}

export interface FetchAnswer {
  /** Kafka's error code for the partition (0: none). */
  errorCode: number
  highWatermark: number
  records: FetchedRecord[]
}

export interface OffsetAnswer {
  /** Kafka's error code for the partition (0: none). */
  errorCode: number
  /** The asked offset; for a timestamp, the first record's at or after it, or -1 when there is none. */
  offset: number
}

export interface FetchRequest {
  topic: string
  partition: number
  offset: number
  maxWaitMs: number
  maxBytes: number
}

const FETCH = 1
const FETCH_VERSION = 4
const LIST_OFFSETS = 2
const LIST_OFFSETS_VERSION = 1
/** ListOffsets' timestamps that mean the log end and the log start. */
const LATEST = -1
const EARLIEST = -2
const CONTROL_BATCH = 0x20
const COMPRESSION = 0x07
/** The answer waits at most maxWaitMs on the broker; beyond it plus this, the connection counts as dead. */
const ANSWER_ALLOWANCE_MS = 10_000

export const KafkaErrorCode = {
  OFFSET_OUT_OF_RANGE: 1,
  UNKNOWN_TOPIC_OR_PARTITION: 3,
  LEADER_NOT_AVAILABLE: 5,
  NOT_LEADER_OR_FOLLOWER: 6,
} as const

/** A connection to one broker that carries one request at a time. */
export class BrokerConnection {
  private correlationId = 0
  private buffered: Buffer = Buffer.alloc(0)
  private pending: { resolve(frame: Buffer): void; reject(error: Error): void } | undefined
  private failure: Error | undefined

  private constructor(private readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => this.receive(chunk))
    socket.on('error', (error) => this.fail(error))
    socket.on('close', () => this.fail(new Error('the broker closed the connection')))
  }

  static open(host: string, port: number): Promise<BrokerConnection> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host, port })
      socket.setNoDelay(true)
      socket.once('error', reject)
      socket.once('connect', () => {
        socket.off('error', reject)
        resolve(new BrokerConnection(socket))
      })
    })
  }

  get usable(): boolean {
    return this.failure === undefined && this.pending === undefined
  }

  async fetch(request: FetchRequest): Promise<FetchAnswer> {
    const body = new Writer()
      .int32(-1) // replica id: a consumer
      .int32(request.maxWaitMs)
      .int32(1) // min bytes
      .int32(request.maxBytes)
      .int8(0) // READ_UNCOMMITTED
      .int32(1)
      .string(request.topic)
      .int32(1)
      .int32(request.partition)
      .int64(request.offset)
      .int32(request.maxBytes)
    const answer = new Reader(await this.send(FETCH, FETCH_VERSION, body, request.maxWaitMs + ANSWER_ALLOWANCE_MS))
    answer.int32() // throttle time
    const topics = answer.int32()
    for (let t = 0; t < topics; t++) {
      const topic = answer.string()
      const partitions = answer.int32()
      for (let p = 0; p < partitions; p++) {
        const partition = answer.int32()
        const errorCode = answer.int16()
        const highWatermark = answer.int64()
        answer.int64() // last stable offset
        const aborted = answer.int32()
        for (let a = 0; a < aborted; a++) answer.skip(16)
        const size = answer.int32()
        const batches = size < 0 ? Buffer.alloc(0) : answer.bytes(size)
        if (topic === request.topic && partition === request.partition) return { errorCode, highWatermark, records: decodeBatches(batches) }
      }
    }
    throw new Error(`the broker's Fetch answer has no ${request.topic}/${request.partition}`)
  }

  /** The partition's log start (`earliest`), log end (`latest`), or first offset at or after a timestamp (ms). */
  async listOffset(topic: string, partition: number, at: 'earliest' | 'latest' | number): Promise<OffsetAnswer> {
    const timestamp = at === 'earliest' ? EARLIEST : at === 'latest' ? LATEST : at
    const body = new Writer().int32(-1).int32(1).string(topic).int32(1).int32(partition).int64(timestamp)
    const answer = new Reader(await this.send(LIST_OFFSETS, LIST_OFFSETS_VERSION, body, ANSWER_ALLOWANCE_MS))
    const topics = answer.int32()
    for (let t = 0; t < topics; t++) {
      const name = answer.string()
      const partitions = answer.int32()
      for (let p = 0; p < partitions; p++) {
        const answered = answer.int32()
        const errorCode = answer.int16()
        answer.int64() // the found record's timestamp
        const offset = answer.int64()
        if (name === topic && answered === partition) return { errorCode, offset }
      }
    }
    throw new Error(`the broker's ListOffsets answer has no ${topic}/${partition}`)
  }

  close(): void {
    this.socket.destroy()
  }

  private send(apiKey: number, version: number, body: Writer, timeoutMs: number): Promise<Buffer> {
    if (!this.usable) return Promise.reject(this.failure ?? new Error('a request is already in flight'))
    const correlationId = ++this.correlationId
    const message = new Writer().int16(apiKey).int16(version).int32(correlationId).string('edge-stream-test-http').append(body).build()
    const frame = Buffer.alloc(4 + message.length)
    frame.writeInt32BE(message.length, 0)
    message.copy(frame, 4)
    return new Promise<Buffer>((resolve, reject) => {
      const timer = setTimeout(() => this.fail(new Error(`no answer from the broker within ${timeoutMs} ms`)), timeoutMs)
      this.pending = {
        resolve: (answer) => {
          clearTimeout(timer)
          if (answer.readInt32BE(0) !== correlationId) return reject(new Error('the broker answered another request'))
          resolve(answer.subarray(4))
        },
        reject: (error) => {
          clearTimeout(timer)
          reject(error)
        },
      }
      this.socket.write(frame)
    })
  }

  private receive(chunk: Buffer): void {
    this.buffered = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk])
    if (this.buffered.length < 4) return
    const size = this.buffered.readInt32BE(0)
    if (this.buffered.length < 4 + size) return
    const answer = this.buffered.subarray(4, 4 + size)
    this.buffered = this.buffered.subarray(4 + size)
    const pending = this.pending
    this.pending = undefined
    pending?.resolve(answer)
  }

  private fail(error: Error): void {
    this.failure ??= error
    this.socket.destroy()
    const pending = this.pending
    this.pending = undefined
    pending?.reject(error)
  }
}

/** The records of whole, uncompressed batches; control records (transaction markers) are left out. */
export function decodeBatches(data: Buffer): FetchedRecord[] {
  const records: FetchedRecord[] = []
  const reader = new Reader(data)
  // Batch header up to its length field: base offset (8) and batch length (4).
  while (reader.remaining >= 12) {
    const baseOffset = reader.int64()
    const length = reader.int32()
    if (reader.remaining < length) break
    const batch = new Reader(reader.bytes(length))
    const leaderEpoch = batch.int32()
    const magic = batch.int8()
    if (magic !== 2) throw new Error(`record batch of magic ${magic}: only magic 2 is read`)
    batch.skip(4) // crc
    const attributes = batch.int16()
    if ((attributes & COMPRESSION) !== 0) throw new Error('compressed record batch: the test translation reads uncompressed batches only')
    batch.int32() // last offset delta
    const baseTimestamp = batch.int64()
    batch.skip(8 + 8 + 2 + 4) // max timestamp, producer id, producer epoch, base sequence
    const count = batch.int32()
    if ((attributes & CONTROL_BATCH) !== 0) continue
    for (let i = 0; i < count; i++) {
      batch.varint() // record length
      batch.int8() // attributes
      const timestampDelta = batch.varint()
      const offsetDelta = batch.varint()
      const key = batch.varbytes()
      const value = batch.varbytes()
      const headers = Array.from({ length: batch.varint() }, () => ({ key: batch.varbytes()?.toString('utf8') ?? '', value: batch.varbytes() }))
      records.push({ offset: baseOffset + offsetDelta, timestamp: baseTimestamp + timestampDelta, leaderEpoch, key, value, headers })
    }
  }
  return records
}

class Writer {
  private readonly parts: Buffer[] = []

  int8(value: number): this {
    return this.push(1, (b) => b.writeInt8(value))
  }
  int16(value: number): this {
    return this.push(2, (b) => b.writeInt16BE(value))
  }
  int32(value: number): this {
    return this.push(4, (b) => b.writeInt32BE(value))
  }
  int64(value: number): this {
    return this.push(8, (b) => b.writeBigInt64BE(BigInt(value)))
  }
  string(value: string): this {
    const bytes = Buffer.from(value, 'utf8')
    this.int16(bytes.length)
    this.parts.push(bytes)
    return this
  }
  append(other: Writer): this {
    this.parts.push(other.build())
    return this
  }
  build(): Buffer {
    return Buffer.concat(this.parts)
  }
  private push(size: number, write: (buffer: Buffer) => void): this {
    const buffer = Buffer.alloc(size)
    write(buffer)
    this.parts.push(buffer)
    return this
  }
}

class Reader {
  private at = 0

  constructor(private readonly data: Buffer) {}

  get remaining(): number {
    return this.data.length - this.at
  }
  int8(): number {
    return this.data.readInt8(this.advance(1))
  }
  int16(): number {
    return this.data.readInt16BE(this.advance(2))
  }
  int32(): number {
    return this.data.readInt32BE(this.advance(4))
  }
  int64(): number {
    return Number(this.data.readBigInt64BE(this.advance(8)))
  }
  string(): string {
    const length = this.int16()
    return length < 0 ? '' : this.bytes(length).toString('utf8')
  }
  bytes(length: number): Buffer {
    const start = this.advance(length)
    return this.data.subarray(start, start + length)
  }
  skip(length: number): void {
    this.advance(length)
  }
  /** A zigzag varint (Kafka's varint and varlong; timestamps' deltas stay within 2^53). */
  varint(): number {
    let value = 0
    let scale = 1
    for (;;) {
      const byte = this.data.readUInt8(this.advance(1))
      value += (byte & 0x7f) * scale
      if ((byte & 0x80) === 0) break
      scale *= 128
    }
    return value % 2 === 0 ? value / 2 : -(value + 1) / 2
  }
  /** Bytes with a varint length, null for -1. */
  varbytes(): Buffer | null {
    const length = this.varint()
    return length < 0 ? null : this.bytes(length)
  }
  private advance(size: number): number {
    if (this.at + size > this.data.length) throw new RangeError('the broker answer ended early')
    const start = this.at
    this.at += size
    return start
  }
}
