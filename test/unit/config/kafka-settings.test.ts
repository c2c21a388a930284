import { describe, expect, it } from 'vitest'
import { ConfigError } from '../../../src/config/env'
import { kafkaSettings } from '../../../src/config/providers'

const settings = (env: Record<string, string>) => kafkaSettings(env, 'orders-eu')

describe('Kafka provider settings', () => {
  it('reads KAFKA_<ID>_* with defaults', () => {
    expect(settings({ KAFKA_ORDERS_EU_URL: 'http://127.0.0.1:8082' })).toEqual({
      url: 'http://127.0.0.1:8082',
      adapter: 'redpanda',
      pollTimeoutMs: 5000,
      maxBytes: 1_048_576,
      requestTimeoutMs: 10_000,
    })
    expect(
      settings({
        KAFKA_ORDERS_EU_URL: 'https://kafka.example.com',
        KAFKA_ORDERS_EU_ADAPTER: 'upstash',
        KAFKA_ORDERS_EU_USERNAME: 'u',
        KAFKA_ORDERS_EU_PASSWORD: 'p',
        KAFKA_ORDERS_EU_POLL_TIMEOUT_MS: '250',
        KAFKA_ORDERS_EU_MAX_BYTES: '65536',
        KAFKA_ORDERS_EU_REQUEST_TIMEOUT_MS: '3000',
      }),
    ).toEqual({ url: 'https://kafka.example.com', adapter: 'upstash', username: 'u', password: 'p', pollTimeoutMs: 250, maxBytes: 65536, requestTimeoutMs: 3000 })
  })

  it.each([
    [{}, 'KAFKA_ORDERS_EU_URL'],
    [{ KAFKA_ORDERS_EU_URL: 'kafka://broker:9092' }, 'KAFKA_ORDERS_EU_URL'],
    [{ KAFKA_ORDERS_EU_ADAPTER: 'confluent' }, 'KAFKA_ORDERS_EU_ADAPTER'],
    [{ KAFKA_ORDERS_EU_USERNAME: 'u' }, 'KAFKA_ORDERS_EU_PASSWORD'],
    [{ KAFKA_ORDERS_EU_PASSWORD: 'p' }, 'KAFKA_ORDERS_EU_USERNAME'],
    [{ KAFKA_ORDERS_EU_POLL_TIMEOUT_MS: '5s' }, 'KAFKA_ORDERS_EU_POLL_TIMEOUT_MS'],
    [{ KAFKA_ORDERS_EU_POLL_TIMEOUT_MS: '0' }, 'KAFKA_ORDERS_EU_POLL_TIMEOUT_MS'],
    [{ KAFKA_ORDERS_EU_MAX_BYTES: '-1' }, 'KAFKA_ORDERS_EU_MAX_BYTES'],
    [{ KAFKA_ORDERS_EU_REQUEST_TIMEOUT_MS: '999999999' }, 'KAFKA_ORDERS_EU_REQUEST_TIMEOUT_MS'],
  ])('refuses %o naming %s', (env, variable) => {
    const withUrl = 'KAFKA_ORDERS_EU_URL' in env || variable === 'KAFKA_ORDERS_EU_URL' ? env : { KAFKA_ORDERS_EU_URL: 'http://h:1', ...env }
    let error: unknown
    try {
      settings(withUrl as Record<string, string>)
    } catch (caught) {
      error = caught
    }
    expect(error).toBeInstanceOf(ConfigError)
    expect((error as ConfigError).variable).toBe(variable)
  })
})
