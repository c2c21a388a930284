/**
 * The graphql-sse client (distinct connections mode: one POST stream per subscription)
 * in the browser page, bundled from the installed package.
 */
import { build } from 'esbuild'
import { fileURLToPath } from 'node:url'

export interface GraphqlSsePageState {
  results: unknown[]
  /** Each successful connection, and how many results had arrived before it. */
  connections: { reconnected: boolean; resultsBefore: number }[]
  error: string | null
  completed: boolean
  dispose: () => void
}

declare global {
  interface Window {
    __graphqlSse: GraphqlSsePageState
  }
}

let clientBundle: Promise<string> | undefined

/** graphql-sse's client as a script that defines `graphqlSse.createClient`. */
export function graphqlSseClientScript(): Promise<string> {
  clientBundle ??= build({
    stdin: { contents: `export { createClient } from 'graphql-sse'`, resolveDir: fileURLToPath(new URL('../..', import.meta.url)) },
    bundle: true,
    format: 'iife',
    globalName: 'graphqlSse',
    platform: 'browser',
    target: 'es2022',
    write: false,
    logLevel: 'silent',
  }).then((result) => result.outputFiles[0]!.text)
  return clientBundle
}

/**
 * Subscribes with the options docs/deploy-*.md recommend for long-lived streams:
 * retry without end, since every server-side cut counts as one failed attempt.
 */
export function graphqlSseSubscribe(query: string): string {
  return `(${subscribeMain})(${JSON.stringify(query)})`
}

const subscribeMain = `function (query) {
  const state = { results: [], connections: [], error: null, completed: false }
  window.__graphqlSse = state
  const client = graphqlSse.createClient({
    url: '/graphql/stream',
    retryAttempts: Infinity,
    retry: () => new Promise((resolve) => setTimeout(resolve, 50)),
    on: { connected: (reconnected) => state.connections.push({ reconnected, resultsBefore: state.results.length }) },
  })
  state.dispose = client.subscribe({ query }, {
    next: (result) => state.results.push(result),
    error: (error) => { state.error = String(error) },
    complete: () => { state.completed = true },
  })
}`
