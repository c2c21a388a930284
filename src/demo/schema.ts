/** The schema `npm start` serves when no SCHEMA or SCHEMA_PATH is given, on the memory broker. */
export const demoSchema = /* GraphQL */ `
type Query {
  hello: String
}

type Tick {
  n: Int!
  at: String!
}

type Employee {
  id: Int!
  name: String!
  updatedAt: String!
}

type Subscription {
  """A counter that ticks every second."""
  tick: Tick! @edfs__natsSubscribe(subjects: ["demo.tick"], providerId: "default")
  """Updates of one employee (ids 1 to 3), every two seconds."""
  employeeUpdated(id: Int!): Employee!
    @edfs__natsSubscribe(subjects: ["employeeUpdated.{{ args.id }}"], providerId: "default")
}
`

/** Publishes the demo's events until the returned function is called. */
export function startDemoTicker(publish: (subject: string, payload: unknown) => void): () => void {
  let n = 0
  const names = ['Ada', 'Grace', 'Linus']
  const timer = setInterval(() => {
    n++
    const at = new Date().toISOString()
    publish('demo.tick', { n, at })
    if (n % 2 === 0) {
      const id = ((n / 2 - 1) % 3) + 1
      publish(`employeeUpdated.${id}`, { id, name: names[id - 1], updatedAt: at })
    }
  }, 1000)
  return () => clearInterval(timer)
}
