/** MAX_STREAM_EVENTS, the Workers stream's event budget for its CPU time: its default and bounds. */
import { describe, expect, it } from 'vitest'
import { ConfigError, type Env } from '../../../src/config/env'
import { createServerFromEnv } from '../../../src/setup'
import { testSchema } from '../../support/schemas'

const start = (env: Env) => createServerFromEnv({ SCHEMA: testSchema, NATS_DEFAULT_URL: 'memory:', LOG_LEVEL: 'silent', ...env })

describe('MAX_STREAM_EVENTS', () => {
  it('defaults to 1,000,000 events and takes a smaller budget for the Free plan', () => {
    expect(start({}).config.maxStreamEvents).toBe(1_000_000)
    expect(start({ MAX_STREAM_EVENTS: '500' }).config.maxStreamEvents).toBe(500)
  })

  it('refuses a value that is not a whole number from 1', () => {
    expect(() => start({ MAX_STREAM_EVENTS: '0' })).toThrow(ConfigError)
    expect(() => start({ MAX_STREAM_EVENTS: 'many' })).toThrow(/^MAX_STREAM_EVENTS: /)
  })
})
