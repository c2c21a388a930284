import { describe, expect, it } from 'vitest'
import { JwksCache, KeysUnavailableError } from '../../../src/auth/jwks-cache'

/** A JWKS endpoint and a clock under the test's control. */
function fakeProvider() {
  const state = { now: 0, kids: ['a'], failing: false, fetches: 0 }
  const fetch = (async () => {
    state.fetches++
    if (state.failing) return new Response('down', { status: 503 })
    return Response.json({ keys: [...state.kids.map((kid) => ({ kty: 'RSA', kid, n: 'x', e: 'AQAB' })), { kty: 'RSA', kid: 'enc', use: 'enc' }, { kty: 'RSA' }] })
  }) as typeof globalThis.fetch
  const cache = new JwksCache('https://idp.test/jwks', { maxAgeMs: 60_000, minRefreshMs: 10_000, timeoutMs: 1000, fetch, now: () => state.now })
  return { state, cache }
}

describe('JWKS cache', () => {
  it('fetches once, then answers from the cache until the keys are older than maxAge', async () => {
    const { state, cache } = fakeProvider()
    for (let i = 0; i < 5; i++) expect((await cache.keyFor('a'))?.kid).toBe('a')
    expect(state.fetches).toBe(1)
    state.now = 60_000
    await cache.keyFor('a')
    expect(state.fetches).toBe(2)
  })

  it('keeps only signing keys with a kid', async () => {
    const { cache } = fakeProvider()
    expect(await cache.keyFor('enc')).toBeUndefined()
  })

  it('refetches for an unknown kid, at most once per minRefresh', async () => {
    const { state, cache } = fakeProvider()
    await cache.keyFor('a')
    state.kids = ['b', 'a']
    state.now = 5000
    for (let i = 0; i < 20; i++) expect(await cache.keyFor(`rogue-${i}`)).toBeUndefined()
    expect(await cache.keyFor('b')).toBeUndefined()
    expect(state.fetches).toBe(1)
    state.now = 10_000
    expect((await cache.keyFor('b'))?.kid).toBe('b')
    expect(state.fetches).toBe(2)
  })

  it('keeps the previous keys when a refresh fails', async () => {
    const { state, cache } = fakeProvider()
    await cache.keyFor('a')
    state.failing = true
    state.now = 120_000
    expect((await cache.keyFor('a'))?.kid).toBe('a')
    expect(state.fetches).toBe(2)
  })

  it('without any key: unavailable, and after a failure no fetch before minRefresh', async () => {
    const { state, cache } = fakeProvider()
    state.failing = true
    await expect(cache.keyFor('a')).rejects.toBeInstanceOf(KeysUnavailableError)
    await expect(cache.keyFor('a')).rejects.toBeInstanceOf(KeysUnavailableError)
    expect(state.fetches).toBe(1)
    state.failing = false
    state.now = 10_000
    expect((await cache.keyFor('a'))?.kid).toBe('a')
  })

  it('lets concurrent requests on a cold cache each fetch, rather than await another request’s fetch', async () => {
    const { state, cache } = fakeProvider()
    const keys = await Promise.all([cache.keyFor('a'), cache.keyFor('a'), cache.keyFor('a')])
    expect(keys.map((key) => key?.kid)).toEqual(['a', 'a', 'a'])
    expect(state.fetches).toBe(3)
  })
})
