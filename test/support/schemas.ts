/** The schema of the integration tests: one subject per (stream, topic) pair, so tests never share data. */
export const testSchema = /* GraphQL */ `
  type Query { ok: Boolean }
  type Event { n: Int! label: String }
  type Subscription {
    events(stream: String!, topic: String!): Event!
      @edfs__natsSubscribe(subjects: ["t.{{ args.stream }}.{{ args.topic }}"], providerId: "default")
    pair(stream: String!): Event!
      @edfs__natsSubscribe(subjects: ["t.{{ args.stream }}.left", "t.{{ args.stream }}.right"], providerId: "default")
  }
`

export function eventsQuery(stream: string, topic: string, selection = 'n'): string {
  return `subscription { events(stream: "${stream}", topic: "${topic}") { ${selection} } }`
}

export function streamUrl(baseUrl: string, query: string, params: Record<string, string> = {}): string {
  return `${baseUrl}/graphql/stream?${new URLSearchParams({ query, ...params })}`
}
