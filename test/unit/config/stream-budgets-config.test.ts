/**
 * The Workers stream's budgets, their defaults and bounds: MAX_SUBREQUESTS (and the variable it
 * replaced) and MAX_STREAM_EVENTS, the event budget for its CPU time.
 */
import { describe, expect, it } from 'vitest'
import { ConfigError, type Env } from '../../../src/config/env'
import { createServerFromEnv } from '../../../src/setup'
import { testSchema } from '../../support/schemas'

const start = (env: Env) => createServerFromEnv({ SCHEMA: testSchema, NATS_DEFAULT_URL: 'memory:', LOG_LEVEL: 'silent', ...env })

describe('MAX_SUBREQUESTS', () => {
  it('defaults to the Paid plan’s 10,000 and takes the Free plan’s 50', () => {
    expect(start({}).config.maxSubrequests).toBe(10_000)
    expect(start({ MAX_SUBREQUESTS: '50' }).config.maxSubrequests).toBe(50)
  })

  it('refuses a value that is not a whole number from 2', () => {
    expect(() => start({ MAX_SUBREQUESTS: '1' })).toThrow(ConfigError)
    expect(() => start({ MAX_SUBREQUESTS: 'lots' })).toThrow(/^MAX_SUBREQUESTS: /)
  })

  it('refuses SUBGRAPH_REQUESTS_PER_STREAM in one line naming MAX_SUBREQUESTS', () => {
    expect(() => start({ SUBGRAPH_REQUESTS_PER_STREAM: '40' })).toThrow(/^SUBGRAPH_REQUESTS_PER_STREAM: was replaced by MAX_SUBREQUESTS[^\n]*$/)
  })
})

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
