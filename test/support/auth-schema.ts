/** A schema whose subjects belong to the token's subject: `u.<sub>.<topic>`. */
export const authSchema = /* GraphQL */ `
  type Query { ok: Boolean }
  type Note { n: Int! owner: String }
  type Subscription {
    notes(topic: String!): Note!
      @edfs__natsSubscribe(subjects: ["u.{{ claims.sub }}.{{ args.topic }}"], providerId: "default")
  }
`

export function notesQuery(topic: string): string {
  return `subscription { notes(topic: "${topic}") { n owner } }`
}
