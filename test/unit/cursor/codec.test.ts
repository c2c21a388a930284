import { describe, expect, it } from 'vitest'
import { CursorCodec, parseCursorKeys, subscriptionBinding } from '../../../src/cursor/codec'
import { RequestError } from '../../../src/errors'
import { compareKafkaPositions, isKafkaPosition } from '../../../src/providers/kafka/position'
import { sequenceRules } from '../../support/cursors'

const binding = subscriptionBinding(['nats', 'default', '', 'employees.1'])
const refusal = (fn: () => unknown): string => {
  try {
    fn()
  } catch (error) {
    expect(error).toBeInstanceOf(RequestError)
    expect((error as RequestError).status).toBe(400)
    expect((error as RequestError).code).toBe('INVALID_CURSOR')
    return (error as RequestError).message
  }
  throw new Error('expected a refusal')
}

describe('cursor codec', () => {
  it('round-trips an unsigned cursor that is URL-safe and versioned', () => {
    const codec = new CursorCodec()
    const cursor = codec.encode(binding, '42')
    expect(cursor).toMatch(/^1\.[A-Za-z0-9_-]+\.42$/)
    expect(encodeURIComponent(cursor)).toBe(cursor)
    expect(codec.decode(binding, cursor, sequenceRules)).toBe('42')
  })

  it('binds a cursor to its subscription', () => {
    const codec = new CursorCodec()
    const other = subscriptionBinding(['nats', 'default', '', 'employees.2'])
    expect(other).not.toBe(binding)
    expect(refusal(() => codec.decode(other, codec.encode(binding, '42'), sequenceRules))).toMatch(/another subscription/)
  })

  it('refuses malformed cursors', () => {
    const codec = new CursorCodec()
    const bad = ['', '42', '2.abc.42', '1.abc', '1..42', '1.a b.42', '1.abc.42.k', '1.abc.42.k.sig.40', '1.abc.42.k.sig.40.44.45', 'x'.repeat(5000)]
    for (const cursor of bad) refusal(() => codec.decode(binding, cursor, sequenceRules))
    expect(refusal(() => codec.decode(binding, `1.${binding}.x42`, sequenceRules))).toMatch(/malformed/)
  })

  it('signs with the first key, verifies with any listed key, refuses forgeries', () => {
    const [oldKey, newKey] = parseCursorKeys('old:0123456789abcdef-old,new:0123456789abcdef-new')
    const before = new CursorCodec([oldKey!])
    const signed = before.encode(binding, '7')
    expect(signed).toMatch(/^1\.[^.]+\.7\.old\.[A-Za-z0-9_-]{22}$/)

    const rotated = new CursorCodec([newKey!, oldKey!])
    expect(rotated.decode(binding, signed, sequenceRules)).toBe('7')
    expect(rotated.encode(binding, '7')).toMatch(/\.new\./)

    expect(refusal(() => rotated.decode(binding, signed.replace('.7.', '.8.'), sequenceRules))).toMatch(/signature/)
    expect(refusal(() => rotated.decode(binding, `1.${binding}.7`, sequenceRules))).toMatch(/signature/)
    expect(refusal(() => new CursorCodec([newKey!]).decode(binding, signed, sequenceRules))).toMatch(/signature/)
  })

  it('signs the events of a batch once, with its range, and admits exactly the positions within it', () => {
    const [key] = parseCursorKeys('k:0123456789abcdef-batch')
    const codec = new CursorCodec([key!])
    const batch = ['5', '6', '8', '9'].map((position) => codec.encode(binding, position, '5', '9'))
    for (const [i, position] of ['5', '6', '8', '9'].entries()) {
      expect(batch[i]).toMatch(new RegExp(`^1\\.${binding}\\.${position}\\.k\\.[A-Za-z0-9_-]{22}\\.5\\.9$`))
      expect(codec.decode(binding, batch[i]!, sequenceRules)).toBe(position)
    }
    // One signature for the batch: it covers the range, not an event.
    expect(new Set(batch.map((cursor) => cursor.split('.')[4])).size).toBe(1)
    expect(batch[0]!.split('.')[4]).not.toBe(codec.encode(binding, '5').split('.')[4])

    // Any position in the range is one the stream sent or passed; outside it, none.
    const cursor = batch[1]!
    expect(codec.decode(binding, cursor.replace('.6.', '.7.'), sequenceRules)).toBe('7')
    expect(refusal(() => codec.decode(binding, cursor.replace('.6.', '.4.'), sequenceRules))).toMatch(/outside the batch/)
    expect(refusal(() => codec.decode(binding, cursor.replace('.6.', '.10.'), sequenceRules))).toMatch(/outside the batch/)
    // The range is what is signed.
    expect(refusal(() => codec.decode(binding, cursor.replace(/\.5\.9$/, '.1.9'), sequenceRules))).toMatch(/signature/)
    expect(refusal(() => codec.decode(binding, cursor.replace(/\.5\.9$/, '.5.99'), sequenceRules))).toMatch(/signature/)
    expect(refusal(() => codec.decode(binding, cursor.replace(/\.5\.9$/, ''), sequenceRules))).toMatch(/signature/)

    // Without keys, ids carry no range and a range bounds nothing.
    expect(new CursorCodec().encode(binding, '6', '5', '9')).toBe(`1.${binding}.6`)
    expect(new CursorCodec().decode(binding, cursor.replace('.6.', '.12.'), sequenceRules)).toBe('12')
  })

  it('admits a vector within its batch in every component, and nothing unordered against it', () => {
    const [key] = parseCursorKeys('k:0123456789abcdef-batch')
    const codec = new CursorCodec([key!])
    const kafka = { isValid: isKafkaPosition, compare: compareKafkaPositions }
    const cursor = codec.encode(binding, '2_5', '1_5', '3_7')
    expect(codec.decode(binding, cursor, kafka)).toBe('2_5')
    expect(codec.decode(binding, cursor.replace('.2_5.', '.3_6.'), kafka)).toBe('3_6')
    // Behind the batch in one partition, beyond it in another, or of another shape.
    for (const position of ['0_5', '2_8', '2_5_0']) {
      expect(refusal(() => codec.decode(binding, cursor.replace('.2_5.', `.${position}.`), kafka))).toMatch(/outside the batch/)
    }
  })

  it('signs an event on its own where its batch range would make the cursor too long to read back', () => {
    const [key] = parseCursorKeys('k:0123456789abcdef-batch')
    const codec = new CursorCodec([key!])
    const vector = (offset: number) => Array.from({ length: 700 }, () => offset.toString(36)).join('_')
    const kafka = { isValid: isKafkaPosition, compare: compareKafkaPositions }
    const cursor = codec.encode(binding, vector(2), vector(1), vector(3))
    expect(cursor.split('.')).toHaveLength(5)
    expect(codec.decode(binding, cursor, kafka)).toBe(vector(2))
  })

  it('rejects weak or malformed CURSOR_KEYS', () => {
    expect(() => parseCursorKeys('k:short')).toThrow(/at least 16/)
    expect(() => parseCursorKeys('nokeyid')).toThrow(/<key id>:<secret>/)
    expect(() => parseCursorKeys('bad.id:0123456789abcdef')).toThrow(/<key id>:<secret>/)
  })
})
