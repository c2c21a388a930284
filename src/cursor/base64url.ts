/** Unpadded base64url, written for the per-event cursor: no btoa detour through a binary string. */
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
/** Every pair of characters, by the 12 bits they encode: a 3-byte group is two lookups and one concatenation. */
const PAIRS = Array.from({ length: 4096 }, (_, bits) => ALPHABET[bits >> 6]! + ALPHABET[bits & 63]!)

/** The first `length` bytes of `bytes`. */
export function base64url(bytes: Uint8Array, length = bytes.length): string {
  const words = new Int32Array((length + 3) >> 2)
  for (let i = 0; i < length; i++) words[i >> 2]! |= bytes[i]! << (24 - ((i & 3) << 3))
  return base64urlOfWords(words, length)
}

/** The first `length` bytes of big-endian 32-bit `words`, as SHA-256 computes its digest: no bytes in between. */
export function base64urlOfWords(words: Int32Array, length: number): string {
  let text = ''
  let i = 0
  for (; i + 3 <= length; i += 3) {
    const group = (byteOf(words, i) << 16) | (byteOf(words, i + 1) << 8) | byteOf(words, i + 2)
    text += PAIRS[group >> 12]! + PAIRS[group & 4095]!
  }
  const rest = length - i
  if (rest === 1) text += PAIRS[byteOf(words, i) << 4]!
  if (rest === 2) {
    const group = (byteOf(words, i) << 8) | byteOf(words, i + 1)
    text += PAIRS[group >> 4]! + ALPHABET[(group << 2) & 63]!
  }
  return text
}

const byteOf = (words: Int32Array, index: number): number => (words[index >> 2]! >>> (24 - ((index & 3) << 3))) & 0xff
