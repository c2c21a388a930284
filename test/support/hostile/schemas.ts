/** The schemas under attack: arguments, a recursive input type, several subjects, and (with auth) claims. */
const common = /* GraphQL */ `
  type Query { ok: Boolean }
  type Event { n: Int! label: String }
  input Filter { kind: String! nested: Filter tags: [String!] }
`
const fields = /* GraphQL */ `
    events(stream: String!, topic: String!): Event!
      @edfs__natsSubscribe(subjects: ["t.{{ args.stream }}.{{ args.topic }}"], providerId: "default")
    pair(stream: String!): Event!
      @edfs__natsSubscribe(subjects: ["t.{{ args.stream }}.left", "t.{{ args.stream }}.right"], providerId: "default")
    search(filter: Filter!): Event!
      @edfs__natsSubscribe(subjects: ["s.{{ args.filter.kind }}"], providerId: "default")
`

/** Without auth: no claims (a claims template would stop the start). */
export const openSchema = `${common} type Subscription { ${fields} }`

export const hardenedSchema = `${common} type Subscription { ${fields}
    mine(topic: String!): Event!
      @edfs__natsSubscribe(subjects: ["u.{{ claims.sub }}.{{ args.topic }}"], providerId: "default")
  }`

/** Valid requests, the seeds that mutations start from. */
export const seeds: { query: string; variables?: Record<string, unknown>; operationName?: string }[] = [
  { query: 'subscription { events(stream: "s", topic: "a") { n label } }' },
  {
    query: 'subscription Named($s: String!, $t: String!) { events(stream: $s, topic: $t) { n ...F } } fragment F on Event { label __typename }',
    variables: { s: 's', t: 'a' },
    operationName: 'Named',
  },
  { query: 'subscription { pair(stream: "s") { x: n y: label } }' },
  { query: 'subscription { mine(topic: "inbox") { n } }' },
  { query: 'subscription($f: Filter!) { search(filter: $f) { n } }', variables: { f: { kind: 'k', nested: { kind: 'x' }, tags: ['a'] } } },
  { query: 'subscription A { events(stream: "s", topic: "a") { n } } subscription B { pair(stream: "s") { n } } query Q { ok }', operationName: 'B' },
  { query: 'subscription { events(stream: "s", topic: "a") { n @include(if: true) label @skip(if: false) ... on Event { n } } }' },
]

/** The resolved subjects of the seeds, whose subscription bindings valid cursors carry. */
export const seedRoutes = [['t.s.a'], ['t.s.left', 't.s.right'], ['s.k'], ['u.fuzz.inbox']]
