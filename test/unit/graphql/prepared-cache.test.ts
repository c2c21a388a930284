import { describe, expect, it } from 'vitest'
import { prepareSubscription, type GraphQLParams } from '../../../src/graphql/operation'
import { PreparedSubscriptions } from '../../../src/graphql/prepared-cache'
import { loadEdfsSchema } from '../../../src/graphql/schema'

const schema = loadEdfsSchema(`
  type Query { ok: Boolean }
  type Event { n: Int! name: String }
  type Subscription { events(id: Int!): Event! @edfs__natsSubscribe(subjects: ["events.{{ args.id }}"], providerId: "default") }
`)

function counted(capacity?: number) {
  let prepared = 0
  const cache = new PreparedSubscriptions((params: GraphQLParams) => {
    prepared++
    return prepareSubscription(schema, params)
  }, capacity)
  return { cache, prepared: () => prepared }
}

const request = (id: number, selection = 'n'): GraphQLParams => ({ query: `subscription ($id: Int!) { events(id: $id) { ${selection} } }`, variables: { id } })

describe('PreparedSubscriptions', () => {
  it('prepares a request once and shares it between the streams that send it', () => {
    const { cache, prepared } = counted()
    const first = cache.get(request(1))
    expect(cache.get(request(1))).toBe(first)
    expect(cache.get(request(2))).not.toBe(first)
    expect(cache.get(request(1, 'n name'))).not.toBe(first)
    expect(prepared()).toBe(3)
    expect(first.prepared.args).toEqual({ id: 1 })
  })

  it('renders as the projection does, for the same event again, a new one, and text that is not JSON', () => {
    const { prepared, resultOf } = counted().cache.get(request(1, 'n name'))
    const event = '{"n":1,"name":"Ada","extra":true}'
    expect(resultOf(event)).toBe(prepared.project(JSON.parse(event)))
    expect(resultOf(event)).toBe('{"data":{"events":{"n":1,"name":"Ada"}}}')
    expect(resultOf('{"n":2}')).toBe('{"data":{"events":{"n":2,"name":null}}}')
    expect(resultOf('{"n":')).toBe('{"data":null,"errors":[{"message":"The event payload is not valid JSON","path":["events"]}]}')
  })

  it('keeps at most its capacity, dropping the least recently used', () => {
    const { cache, prepared } = counted(2)
    cache.get(request(1))
    cache.get(request(2))
    cache.get(request(1)) // 2 is now the least recently used
    cache.get(request(3))
    expect(prepared()).toBe(3)
    cache.get(request(1))
    expect(prepared()).toBe(3)
    cache.get(request(2))
    expect(prepared()).toBe(4)
  })

  it('does not cache refusals', () => {
    const { cache, prepared } = counted()
    const bad = { query: 'subscription { events(id: 1) { nope } }' }
    expect(() => cache.get(bad)).toThrow()
    expect(() => cache.get(bad)).toThrow()
    expect(prepared()).toBe(2)
  })
})
