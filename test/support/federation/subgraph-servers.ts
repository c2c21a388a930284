/**
 * The test graph's real subgraphs: employees, mood and countries, each a federation subgraph
 * schema built by @apollo/subgraph from its SDL in subgraphs/ and served by graphql-yoga on
 * 127.0.0.1. Their `_entities` are the libraries' own; only the data resolvers are ours.
 * Each counts its requests and can be switched to fail (500, no answer, garbage, GraphQL errors).
 */
import { buildSubgraphSchema } from '@apollo/subgraph'
import { parse } from 'graphql'
import { createYoga } from 'graphql-yoga'
import { readFileSync } from 'node:fs'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { fileURLToPath } from 'node:url'

export type SubgraphFault = 'none' | 'status-500' | 'no-answer' | 'garbage' | 'graphql-errors'

export interface SubgraphServer {
  name: string
  url: string
  /** Requests received (each HTTP request counts once, however many representations it holds). */
  requests: number
  /** The request bodies received, newest last. */
  bodies: { query: string; variables?: Record<string, unknown> }[]
  /** Request headers received, newest last. */
  headers: Record<string, string | string[] | undefined>[]
  fault: SubgraphFault
  close(): Promise<void>
}

export interface TestSubgraphs {
  employees: SubgraphServer
  mood: SubgraphServer
  countries: SubgraphServer
  /** `SUBGRAPH_<NAME>_URL` for each. */
  env: Record<string, string>
  reset(): void
  close(): Promise<void>
}

const COUNTRIES = ['Germany', 'England', 'USA'] as const
const LANGUAGES: Record<string, string> = { Germany: 'German', England: 'English', USA: 'English' }

/** The employee with this id, as the employees subgraph knows it. */
export function employee(id: number) {
  return {
    id,
    tag: `tag-${id}`,
    notes: id % 4 === 0 ? null : `notes of ${id}`,
    updatedAt: `2026-01-${String((id % 28) + 1).padStart(2, '0')}`,
    details: {
      forename: `Forename${id}`,
      surname: `Surname${id}`,
      location: { key: { name: COUNTRIES[id % 3]! } },
      pastLocations: [{ type: 'city', name: `City${id}`, country: { key: { name: COUNTRIES[(id + 1) % 3]! } } }],
    },
  }
}

export const moodOf = (id: number): 'HAPPY' | 'SAD' => (id % 2 === 0 ? 'HAPPY' : 'SAD')
export const languageOf = (country: string): string | undefined => LANGUAGES[country]

function sdl(name: string) {
  return parse(readFileSync(fileURLToPath(new URL(`subgraphs/${name}.graphqls`, import.meta.url)), 'utf8'))
}

const schemas = {
  employees: () =>
    buildSubgraphSchema({
      typeDefs: sdl('employees'),
      resolvers: {
        Query: {
          employee: (_: unknown, { id }: { id: number }) => employee(id),
          employees: () => [1, 2, 3].map(employee),
        },
        Employee: {
          // A representation carries what @requires asked for (currentMood) beside the key.
          __resolveReference: (reference: { id: number }) => ({ ...employee(reference.id), ...reference }),
          // @requires(fields: "currentMood"): the mood comes in the representation.
          derivedMood: (parent: { currentMood?: string }) => parent.currentMood,
        },
      } as never,
    }),
  mood: () =>
    buildSubgraphSchema({
      typeDefs: sdl('mood'),
      resolvers: {
        Employee: { __resolveReference: (reference: { id: number }) => ({ id: reference.id, currentMood: moodOf(reference.id) }) },
        Mutation: { updateMood: (_: unknown, { employeeID, mood }: { employeeID: number; mood: string }) => ({ id: employeeID, currentMood: mood }) },
      } as never,
    }),
  countries: () =>
    buildSubgraphSchema({
      typeDefs: sdl('countries'),
      resolvers: {
        Country: { __resolveReference: (reference: { key: { name: string } }) => ({ key: reference.key, language: languageOf(reference.key.name) ?? null }) },
      } as never,
    }),
}

async function startSubgraph(name: keyof typeof schemas): Promise<SubgraphServer> {
  const yoga = createYoga({ schema: schemas[name](), graphqlEndpoint: '/graphql', logging: false, maskedErrors: false, landingPage: false })
  const pending = new Set<ServerResponse>()
  const server = createServer(async (request: IncomingMessage, response: ServerResponse) => {
    const body = await readBody(request)
    state.requests++
    state.headers.push(request.headers)
    try {
      state.bodies.push(JSON.parse(body))
    } catch {
      // counted all the same
    }
    switch (state.fault) {
      case 'status-500':
        response.writeHead(500, { 'content-type': 'text/plain' }).end(`internal trace of ${name} at ${state.url}`)
        return
      case 'no-answer':
        pending.add(response) // answered never; released at close
        return
      case 'garbage':
        response.writeHead(200, { 'content-type': 'application/json' }).end(`<html>${name} secret page</html>`)
        return
      case 'graphql-errors':
        response
          .writeHead(200, { 'content-type': 'application/json' })
          .end(JSON.stringify({ errors: [{ message: `${name} database password rejected`, extensions: { code: 'INTERNAL' } }], data: null }))
        return
      case 'none': {
        const answer = await yoga.fetch(`http://127.0.0.1/graphql`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', accept: 'application/json' },
          body,
        })
        response.writeHead(answer.status, { 'content-type': answer.headers.get('content-type') ?? 'application/json' })
        response.end(await answer.text())
      }
    }
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  const state: SubgraphServer = {
    name,
    url: `http://127.0.0.1:${port}/graphql`,
    requests: 0,
    bodies: [],
    headers: [],
    fault: 'none',
    close: () =>
      new Promise<void>((resolve) => {
        for (const response of pending) response.destroy()
        server.close(() => resolve())
        server.closeAllConnections()
      }),
  }
  return state
}

function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let body = ''
    request.setEncoding('utf8')
    request.on('data', (chunk: string) => (body += chunk))
    request.on('end', () => resolve(body))
    request.on('error', reject)
  })
}

export async function startTestSubgraphs(): Promise<TestSubgraphs> {
  const [employees, mood, countries] = await Promise.all([startSubgraph('employees'), startSubgraph('mood'), startSubgraph('countries')])
  const all = [employees, mood, countries]
  return {
    employees,
    mood,
    countries,
    env: { SUBGRAPH_EMPLOYEES_URL: employees.url, SUBGRAPH_MOOD_URL: mood.url, SUBGRAPH_COUNTRIES_URL: countries.url },
    reset() {
      for (const subgraph of all) {
        subgraph.requests = 0
        subgraph.bodies = []
        subgraph.headers = []
        subgraph.fault = 'none'
      }
    },
    close: async () => {
      await Promise.all(all.map((subgraph) => subgraph.close()))
    },
  }
}
