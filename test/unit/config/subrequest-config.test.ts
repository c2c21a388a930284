/** MAX_SUBREQUESTS, the Workers stream budget: its default and bounds, and the variable it replaced. */
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
