import { describe, expect, it } from 'vitest'
import { CursorCodec, parseCursorKeys, subscriptionBinding } from '../../../src/cursor/codec'
import { RequestError } from '../../../src/errors'

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
    expect(codec.decode(binding, cursor)).toBe('42')
  })

  it('binds a cursor to its subscription', () => {
    const codec = new CursorCodec()
    const other = subscriptionBinding(['nats', 'default', '', 'employees.2'])
    expect(other).not.toBe(binding)
    expect(refusal(() => codec.decode(other, codec.encode(binding, '42')))).toMatch(/another subscription/)
  })

  it('refuses malformed cursors', () => {
    const codec = new CursorCodec()
    for (const bad of ['', '42', '2.abc.42', '1.abc', '1..42', '1.a b.42', '1.abc.42.k', 'x'.repeat(5000)]) {
      refusal(() => codec.decode(binding, bad))
    }
  })

  it('signs with the first key, verifies with any listed key, refuses forgeries', () => {
    const [oldKey, newKey] = parseCursorKeys('old:0123456789abcdef-old,new:0123456789abcdef-new')
    const before = new CursorCodec([oldKey!])
    const signed = before.encode(binding, '7')
    expect(signed).toMatch(/^1\.[^.]+\.7\.old\.[A-Za-z0-9_-]{22}$/)

    const rotated = new CursorCodec([newKey!, oldKey!])
    expect(rotated.decode(binding, signed)).toBe('7')
    expect(rotated.encode(binding, '7')).toMatch(/\.new\./)

    expect(refusal(() => rotated.decode(binding, signed.replace('.7.', '.8.')))).toMatch(/signature/)
    expect(refusal(() => rotated.decode(binding, `1.${binding}.7`))).toMatch(/signature/)
    expect(refusal(() => new CursorCodec([newKey!]).decode(binding, signed))).toMatch(/signature/)
  })

  it('rejects weak or malformed CURSOR_KEYS', () => {
    expect(() => parseCursorKeys('k:short')).toThrow(/at least 16/)
    expect(() => parseCursorKeys('nokeyid')).toThrow(/<key id>:<secret>/)
    expect(() => parseCursorKeys('bad.id:0123456789abcdef')).toThrow(/<key id>:<secret>/)
  })
})
