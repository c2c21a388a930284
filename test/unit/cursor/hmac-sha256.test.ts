import fc from 'fast-check'
import { hmac } from '@noble/hashes/hmac.js'
import { sha256 } from '@noble/hashes/sha2.js'
import { describe, expect, it } from 'vitest'
import { HmacSha256 } from '../../../src/cursor/hmac-sha256'

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex')
const utf8 = (text: string) => new TextEncoder().encode(text)

describe('HmacSha256', () => {
  it('gives the RFC 4231 results', () => {
    // Test case 2 (a short key) and 6 (a key longer than a block, a message longer than one).
    expect(hex(new HmacSha256(utf8('Jefe')).sign('what do ya want for nothing?'))).toBe(
      '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843',
    )
    expect(hex(new HmacSha256(new Uint8Array(131).fill(0xaa)).sign('Test Using Larger Than Block-Size Key - Hash Key First'))).toBe(
      '60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54',
    )
  })

  it('equals noble HMAC-SHA256 for any key and message, short, long or not ASCII', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 150 }), fc.oneof(fc.string({ maxLength: 80 }), fc.string({ unit: 'binary', maxLength: 80 })), (key, message) => {
        expect(hex(new HmacSha256(key).sign(message))).toBe(hex(hmac(sha256, key, utf8(message))))
      }),
      { numRuns: 2000 },
    )
  })

  it('equals noble at every message length around the one-block limit', () => {
    const key = utf8('0123456789abcdef-key')
    const signer = new HmacSha256(key)
    for (let length = 0; length <= 70; length++) {
      const message = '1.Xb3kq0c9Zk7M.'.padEnd(length, '7').slice(0, length)
      expect(hex(signer.sign(message))).toBe(hex(hmac(sha256, key, utf8(message))))
    }
  })

  it('gives the first bytes of the MAC as unpadded base64url, short and long messages alike', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 80 }), fc.string({ maxLength: 80 }), fc.integer({ min: 0, max: 32 }), (key, message, length) => {
        const expected = Buffer.from(hmac(sha256, key, utf8(message)).subarray(0, length)).toString('base64url')
        expect(new HmacSha256(key).signBase64url(message, length)).toBe(expected)
      }),
      { numRuns: 1000 },
    )
  })
})
