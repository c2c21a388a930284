/** CORS on the stream: preflights, simple requests, credentials mode for cookie auth, errors a page can read. */
import { describe, expect, it } from 'vitest'
import { signToken } from '../support/jwks-server'
import { memoryApp } from '../support/memory-app'
import { eventsQuery } from '../support/schemas'

const page = 'https://app.example.com'
const path = `/graphql/stream?${new URLSearchParams({ query: eventsQuery('s', 'a') })}`
const secret = 'a-cors-test-secret-of-32-characters-or-more'
const token = () => signToken(new TextEncoder().encode(secret), { sub: 'alice' })

async function close(response: Response): Promise<Response> {
  await response.body?.cancel()
  return response
}

const preflight = (origin: string, requestHeaders = 'last-event-id') => ({
  method: 'OPTIONS',
  headers: { Origin: origin, 'Access-Control-Request-Method': 'GET', 'Access-Control-Request-Headers': requestHeaders },
})

describe('CORS', () => {
  const listed = memoryApp({ CORS_ORIGINS: `${page}, https://other.example.com`, CORS_CREDENTIALS: 'true', AUTH_SECRET: secret, AUTH_COOKIE: 'session' }).app

  it('answers a preflight from a listed origin: Last-Event-ID and Authorization allowed, credentials, cached', async () => {
    const response = await listed.request(path, preflight(page, 'last-event-id, authorization'))
    expect(response.status).toBe(204)
    expect(response.headers.get('access-control-allow-origin')).toBe(page)
    expect(response.headers.get('access-control-allow-credentials')).toBe('true')
    expect(response.headers.get('access-control-allow-methods')).toBe('GET,POST,OPTIONS')
    expect(response.headers.get('access-control-allow-headers')?.split(',')).toEqual(expect.arrayContaining(['Last-Event-ID', 'Authorization', 'Content-Type']))
    expect(response.headers.get('access-control-max-age')).toBe('600')
    expect(response.headers.get('vary')).toMatch(/Origin/)
  })

  it('gives an unlisted origin no Access-Control-Allow-Origin, on a preflight or a request', async () => {
    expect((await listed.request(path, preflight('https://evil.example.com'))).headers.get('access-control-allow-origin')).toBeNull()
    const response = await close(await listed.request(path, { headers: { Origin: 'https://evil.example.com' } }))
    expect(response.headers.get('access-control-allow-origin')).toBeNull()
  })

  it('lets a listed page open the stream with its cookie (EventSource withCredentials), echoing its origin, never *', async () => {
    const response = await close(await listed.request(path, { headers: { Origin: page, Cookie: `session=${await token()}` } }))
    expect(response.status).toBe(200)
    expect(response.headers.get('access-control-allow-origin')).toBe(page)
    expect(response.headers.get('access-control-allow-credentials')).toBe('true')
    expect(response.headers.get('vary')).toMatch(/Origin/)
  })

  it('puts the CORS headers on errors too, so the page can read why it was refused', async () => {
    const unauthenticated = await listed.request(path, { headers: { Origin: page } })
    expect(unauthenticated.status).toBe(401)
    expect(unauthenticated.headers.get('access-control-allow-origin')).toBe(page)
    const badQuery = await listed.request('/graphql/stream?query=nope', { headers: { Origin: page, Cookie: `session=${await token()}` } })
    expect(badQuery.status).toBe(400)
    expect(badQuery.headers.get('access-control-allow-origin')).toBe(page)
  })

  it('allows any origin with *, without credentials', async () => {
    const { app } = memoryApp({ CORS_ORIGINS: '*' })
    const response = await close(await app.request(path, { headers: { Origin: 'https://anywhere.example' } }))
    expect(response.status).toBe(200)
    expect(response.headers.get('access-control-allow-origin')).toBe('*')
    expect(response.headers.get('access-control-allow-credentials')).toBeNull()
    const pre = await app.request(path, preflight('https://anywhere.example'))
    expect(pre.headers.get('access-control-allow-headers')).toMatch(/Last-Event-ID/)
  })

  it('sends no CORS headers when CORS_ORIGINS is not set', async () => {
    const { app } = memoryApp()
    const response = await close(await app.request(path, { headers: { Origin: page } }))
    expect(response.headers.get('access-control-allow-origin')).toBeNull()
  })
})
