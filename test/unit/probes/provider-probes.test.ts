/** What the probes log of a URL: never its user info, query or a token quoted by an error. */
import { describe, expect, it } from 'vitest'
import { describeError, probeTargets, providerHosts, showUrl } from '../../../src/probes/provider-probes'

describe('probe targets', () => {
  it('shows URLs without user info, query or fragment', () => {
    expect(showUrl('wss://user:secret@nats.example.com:443/ws?token=t0k3n#x')).toBe('wss://nats.example.com/ws')
    expect(showUrl('http://127.0.0.1:8082/')).toBe('http://127.0.0.1:8082/')
    expect(showUrl('not a url')).toBe('(unparsable URL)')
  })

  it('names the variable of each URL, one per server of a NATS cluster, none for the embedded broker', () => {
    const env = { NATS_ORDERS_EU_URL: 'ws://a:4223,ws://u:p@b:4223', NATS_DEFAULT_URL: 'memory:', KAFKA_EVENTS_URL: 'https://kafka.example.com/proxy' }
    expect(probeTargets('nats', 'orders-eu', env).map(({ variable, shown, protocol }) => ({ variable, shown, protocol }))).toEqual([
      { variable: 'NATS_ORDERS_EU_URL', shown: 'ws://a:4223/', protocol: 'websocket' },
      { variable: 'NATS_ORDERS_EU_URL', shown: 'ws://b:4223/', protocol: 'websocket' },
    ])
    expect(probeTargets('nats', 'default', env)).toEqual([])
    expect(probeTargets('kafka', 'events', env)).toMatchObject([{ variable: 'KAFKA_EVENTS_URL', protocol: 'http', provider: 'kafka:events' }])
    expect(providerHosts(probeTargets('nats', 'orders-eu', env))).toEqual(new Map([['nats:orders-eu', 'a:4223,b:4223']]))
  })

  it('words an error without the URL it quotes, preferring the system code', () => {
    const [target] = probeTargets('kafka', 'events', { KAFKA_EVENTS_URL: 'http://u:pw-secret@k.example.com/p?token=tk-secret' })
    const quoting = new Error(`Request cannot be constructed from a URL that includes credentials: ${target!.url}`)
    expect(describeError(quoting, target!)).not.toMatch(/secret/)
    expect(describeError(new TypeError('fetch failed', { cause: Object.assign(new Error('x'), { code: 'ECONNREFUSED' }) }), target!)).toBe('ECONNREFUSED')
  })
})
