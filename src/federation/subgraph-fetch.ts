/**
 * `_entities` requests, collected per batch of events: every representation asked for while a
 * batch resolves is held until the current turn of the event loop ends, then each subgraph gets
 * one request holding them all, de-duplicated (one more per hop when entities lead to other
 * entities or @requires needs another subgraph first). Nothing is cached beyond a batch, so a
 * long-lived subscription never sees a stale entity; identical requests in flight at the same
 * time (streams of one route, fed the same event) share one answer.
 */
import type { Datasource } from './execution-config'

type Json = Record<string, unknown>

/** A subgraph request that failed; the client sees only Cosmo's wrapped message, never the cause. */
export class SubgraphFetchError extends Error {
  constructor(
    readonly subgraph: string,
    readonly path: string,
    readonly cause: string,
  ) {
    super(`Failed to fetch from Subgraph '${subgraph}' at Path '${path}'.`)
    this.name = 'SubgraphFetchError'
  }
}

export interface SubgraphTransport {
  /**
   * POSTs a GraphQL request; shares one answer between identical requests in flight. Its only
   * deadline is the subgraph timeout: a stream that goes away leaves a shared request running.
   */
  post(url: string, body: string, headers: Record<string, string>): Promise<SubgraphAnswer>
}

export type SubgraphAnswer = { ok: true; data: Json | undefined; errors: unknown[] } | { ok: false; cause: string }

/**
 * Plain fetch with a per-request timeout. `shareInFlight`: identical requests in flight share one
 * answer; only where one process serves many requests (workerd cannot hand one request's I/O to another).
 */
export function createTransport(timeoutMs: number, shareInFlight: boolean, fetchFn: typeof fetch = (input, init) => fetch(input, init)): SubgraphTransport {
  const inFlight = new Map<string, Promise<SubgraphAnswer>>()
  return {
    post(url, body, headers) {
      const key = shareInFlight ? JSON.stringify([url, body, headers]) : ''
      let answer = shareInFlight ? inFlight.get(key) : undefined
      if (!answer) {
        const timeout = new AbortController()
        const timer = setTimeout(() => timeout.abort(), timeoutMs)
        answer = postOnce(fetchFn, url, body, headers, timeout.signal).finally(() => {
          clearTimeout(timer)
          if (shareInFlight) inFlight.delete(key)
        })
        if (shareInFlight) inFlight.set(key, answer)
      }
      return answer
    },
  }
}

async function postOnce(fetchFn: typeof fetch, url: string, body: string, headers: Record<string, string>, signal: AbortSignal): Promise<SubgraphAnswer> {
  let text: string
  try {
    const response = await fetchFn(url, {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/json', accept: 'application/graphql-response+json, application/json' },
      body,
      signal,
    })
    text = await response.text()
    if (!response.ok) return { ok: false, cause: `status ${response.status}` }
  } catch (error) {
    return { ok: false, cause: signal.aborted ? 'timeout' : `request failed: ${(error as Error).message}` }
  }
  let answer: unknown
  try {
    answer = JSON.parse(text)
  } catch {
    return { ok: false, cause: 'invalid JSON' }
  }
  if (typeof answer !== 'object' || answer === null) return { ok: false, cause: 'invalid JSON' }
  const { data, errors } = answer as { data?: unknown; errors?: unknown }
  return {
    ok: true,
    data: typeof data === 'object' && data !== null ? (data as Json) : undefined,
    errors: Array.isArray(errors) ? errors : [],
  }
}

interface Waiter {
  resolve(entity: Json | null): void
  reject(error: SubgraphFetchError): void
  path: string
}

interface Entry {
  typeName: string
  representation: Json
  /** Printed field selections wanted of this entity. */
  fields: Set<string>
  waiters: Waiter[]
}

/** The `_entities` loads of one batch of events. */
export class EntityBatch {
  private readonly pending = new Map<Datasource, Map<string, Entry>>()
  /** Sent and not answered yet. */
  private readonly inFlight = new Map<Entry, Datasource>()
  private scheduled = false
  private failure: string | undefined
  /** Subgraph requests this batch made. */
  requests = 0

  constructor(
    private readonly transport: SubgraphTransport,
    private readonly headers: Record<string, string>,
    signal: AbortSignal,
  ) {
    signal.addEventListener('abort', () => this.abort(), { once: true })
  }

  /** The entity `representation` of `datasource`, with at least `field` (printed) selected. */
  load(datasource: Datasource, typeName: string, representation: Json, field: string, path: string): Promise<Json | null> {
    if (this.failure !== undefined) return Promise.reject(new SubgraphFetchError(datasource.subgraph.name, path, this.failure))
    let entries = this.pending.get(datasource)
    if (!entries) this.pending.set(datasource, (entries = new Map()))
    const key = JSON.stringify(representation)
    let entry = entries.get(key)
    if (!entry) entries.set(key, (entry = { typeName, representation, fields: new Set(), waiters: [] }))
    entry.fields.add(field)
    if (!this.scheduled) {
      this.scheduled = true
      // After every resolver of this turn (all events of the batch, all fields of a level) has asked.
      setTimeout(() => this.dispatch(), 0)
    }
    return new Promise((resolve, reject) => entry.waiters.push({ resolve, reject, path }))
  }

  private abort(): void {
    this.failure = 'deadline'
    const reject = (entry: Entry, datasource: Datasource) => {
      for (const waiter of entry.waiters) waiter.reject(new SubgraphFetchError(datasource.subgraph.name, waiter.path, 'deadline'))
    }
    for (const [datasource, entries] of this.pending) for (const entry of entries.values()) reject(entry, datasource)
    for (const [entry, datasource] of this.inFlight) reject(entry, datasource)
    this.pending.clear()
    this.inFlight.clear()
  }

  private dispatch(): void {
    this.scheduled = false
    const pending = [...this.pending]
    this.pending.clear()
    for (const [datasource, entries] of pending) void this.send(datasource, [...entries.values()])
  }

  private async send(datasource: Datasource, entries: Entry[]): Promise<void> {
    // Entities that want the same fields share one `_entities` field of the request.
    const groups = new Map<string, Entry[]>()
    for (const entry of entries) {
      const key = `${entry.typeName}{${[...entry.fields].sort().join(' ')}}`
      const group = groups.get(key)
      if (group) group.push(entry)
      else groups.set(key, [entry])
    }
    const fields: string[] = []
    const definitions: string[] = []
    const variables: Json = {}
    for (const [index, group] of [...groups.values()].entries()) {
      definitions.push(`$r${index}: [_Any!]!`)
      variables[`r${index}`] = group.map((entry) => entry.representation)
      fields.push(`e${index}: _entities(representations: $r${index}) { __typename ... on ${group[0]!.typeName} { ${[...group[0]!.fields].join(' ')} } }`)
    }
    const query = `query(${definitions.join(', ')}) { ${fields.join(' ')} }`
    const fail = (entry: Entry, cause: string) => {
      for (const waiter of entry.waiters) waiter.reject(new SubgraphFetchError(datasource.subgraph.name, waiter.path, cause))
    }
    const url = datasource.subgraph.url
    if (url === undefined) {
      for (const entry of entries) fail(entry, 'no routing URL')
      return
    }
    for (const entry of entries) this.inFlight.set(entry, datasource)
    this.requests++
    const answer = await this.transport.post(url, JSON.stringify({ query, variables }), this.headers)
    // After the deadline every waiter was rejected already; settling again changes nothing.
    for (const entry of entries) this.inFlight.delete(entry)
    for (const [index, group] of [...groups.values()].entries()) {
      const list = answer.ok ? answer.data?.[`e${index}`] : undefined
      for (const [position, entry] of group.entries()) {
        if (!answer.ok) fail(entry, answer.cause)
        else if (!Array.isArray(list) || hasErrorAt(answer.errors, `e${index}`, position)) fail(entry, 'GraphQL errors')
        else {
          const entity = list[position]
          for (const waiter of entry.waiters) waiter.resolve(typeof entity === 'object' && entity !== null ? (entity as Json) : null)
        }
      }
    }
  }
}

/** Whether an error concerns this entity: its path leads to it, or it has no path (it concerns them all). */
function hasErrorAt(errors: unknown[], field: string, position: number): boolean {
  return errors.some((error) => {
    const path = (error as { path?: unknown } | null)?.path
    if (!Array.isArray(path) || path.length === 0) return true
    return path[0] === field && (path.length < 2 || path[1] === position)
  })
}
