import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { base64url, base64urlOfWords } from '../../../src/cursor/base64url'

describe('base64url', () => {
  it("equals Node's unpadded base64url of the first bytes, at every length", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), fc.nat(), (bytes, cut) => {
        const length = bytes.length === 0 ? 0 : cut % (bytes.length + 1)
        expect(base64url(bytes, length)).toBe(Buffer.from(bytes.subarray(0, length)).toString('base64url'))
      }),
      { numRuns: 1000 },
    )
  })

  it('reads 32-bit words big-endian, negative ones included', () => {
    const words = Int32Array.of(0x01020304, -0x01020305, 0x7fffffff, -1)
    const bytes = Buffer.from([1, 2, 3, 4, 0xfe, 0xfd, 0xfc, 0xfb, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff])
    for (let length = 0; length <= 16; length++) expect(base64urlOfWords(words, length)).toBe(bytes.subarray(0, length).toString('base64url'))
  })
})
