/**
 * The shapes of the Redis replies the Streams provider reads, as @upstash/redis
 * returns them without deserialization (strings as the REST layer's JSON strings,
 * no base64). Anything else is a broker failure, thrown with what was unexpected.
 */
import { isEntryId } from './redis-entry-ids'

export interface StreamEntry {
  id: string
  /** Field names and values, alternating, as XADD stored them; null for a deleted entry. */
  fields: unknown[] | null
}

export interface StreamBounds {
  /** The oldest entry still in the stream; undefined when the stream is empty. */
  firstEntryId: string | undefined
  lastEntryId: string | undefined
  /** The id of the newest entry ever added, deleted or not. */
  lastGeneratedId: string
}

/** XREAD: null on timeout, else `[[key, [[id, [field, value, …]], …]], …]`; entries per key index. */
export function parseXRead(reply: unknown, keyIndex: ReadonlyMap<string, number>): StreamEntry[][] {
  const perKey: StreamEntry[][] = Array.from({ length: keyIndex.size }, () => [])
  if (reply === null) return perKey
  if (!Array.isArray(reply)) throw unexpected('XREAD', reply)
  for (const stream of reply) {
    if (!Array.isArray(stream) || !Array.isArray(stream[1])) throw unexpected('XREAD', stream)
    const index = keyIndex.get(stream[0])
    if (index === undefined) throw unexpected('XREAD', stream[0])
    perKey[index] = stream[1].map((entry: unknown) => parseEntry('XREAD', entry))
  }
  return perKey
}

/** XINFO STREAM: alternating field names and values. */
export function parseStreamInfo(reply: unknown): StreamBounds {
  if (!Array.isArray(reply)) throw unexpected('XINFO STREAM', reply)
  const info = new Map<unknown, unknown>()
  for (let i = 0; i + 1 < reply.length; i += 2) info.set(reply[i], reply[i + 1])
  const lastGeneratedId = info.get('last-generated-id')
  if (typeof lastGeneratedId !== 'string' || !isEntryId(lastGeneratedId)) throw unexpected('XINFO STREAM', reply)
  return {
    firstEntryId: entryIdOf(info.get('first-entry')),
    lastEntryId: entryIdOf(info.get('last-entry')),
    lastGeneratedId,
  }
}

function entryIdOf(entry: unknown): string | undefined {
  return entry === null || entry === undefined ? undefined : parseEntry('XINFO STREAM', entry).id
}

function parseEntry(command: string, entry: unknown): StreamEntry {
  if (!Array.isArray(entry) || typeof entry[0] !== 'string' || !isEntryId(entry[0])) throw unexpected(command, entry)
  const fields: unknown = entry[1]
  if (fields !== null && !Array.isArray(fields)) throw unexpected(command, entry)
  return { id: entry[0], fields }
}

function unexpected(command: string, value: unknown): Error {
  return new Error(`unexpected ${command} reply: ${JSON.stringify(value)?.slice(0, 200)}`)
}
