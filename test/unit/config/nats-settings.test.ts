import { describe, expect, it } from 'vitest'
import { ConfigError } from '../../../src/config/env'
import { natsSettings } from '../../../src/config/providers'

const settings = (env: Record<string, string>) => natsSettings(env, 'orders-eu')

describe('NATS provider settings', () => {
  it('reads one WebSocket URL, or the comma-separated URLs of a cluster', () => {
    expect(settings({ NATS_ORDERS_EU_URL: 'wss://nats.example.com' })).toEqual({ servers: ['wss://nats.example.com'] })
    expect(settings({ NATS_ORDERS_EU_URL: 'ws://10.0.0.1:8080, ws://10.0.0.2:8080,ws://10.0.0.3:8080', NATS_ORDERS_EU_TOKEN: 't' })).toEqual({
      servers: ['ws://10.0.0.1:8080', 'ws://10.0.0.2:8080', 'ws://10.0.0.3:8080'],
      token: 't',
    })
    expect(settings({ NATS_ORDERS_EU_URL: 'memory:' })).toEqual({ servers: ['memory:'] })
    expect(settings({})).toBeUndefined()
  })

  it.each(['nats://10.0.0.1:4222', 'ws://10.0.0.1:8080,nats://10.0.0.2:4222', 'ws://a:1,memory:', ' , '])('refuses %j, naming the variable', (url) => {
    expect(() => settings({ NATS_ORDERS_EU_URL: url })).toThrow(ConfigError)
    expect(() => settings({ NATS_ORDERS_EU_URL: url })).toThrow(/^NATS_ORDERS_EU_URL: must be a ws:\/\/ or wss:\/\/ URL/)
  })
})
