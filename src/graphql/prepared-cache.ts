import type { GraphQLParams, PreparedSubscription } from './operation'

/**
 * A prepared subscription with what its streams render per event, shared by every
 * stream that sends the same request. The clients of one page send the same query and
 * variables: preparing them once (parse, validate, compile the projection) saves that
 * work at each stream's open and the document and compiled projection in each stream's
 * memory, and streams of one subject render each event once between them instead of
 * once each (`resultOf` remembers its last event).
 */
export interface SharedSubscription {
  prepared: PreparedSubscription
  /** The ExecutionResult JSON of an event's payload text. */
  resultOf(text: string): string
}

/** Payloads up to this size are remembered, so a cache entry never holds a large one. */
const REMEMBERED_PAYLOAD_CHARS = 16 * 1024

/** Bounded, least recently used out first: distinct requests cost what they did without it. */
export class PreparedSubscriptions {
  private readonly entries = new Map<string, SharedSubscription>()

  constructor(
    private readonly prepare: (params: GraphQLParams) => PreparedSubscription,
    private readonly capacity = 256,
  ) {}

  /** Throws, like `prepare`, for a request that cannot be served; refusals are not cached. */
  get(params: GraphQLParams): SharedSubscription {
    const key = JSON.stringify([params.query, params.operationName ?? null, params.variables ?? null])
    let entry = this.entries.get(key)
    if (entry) {
      this.entries.delete(key)
    } else {
      entry = share(this.prepare(params))
      if (this.entries.size >= this.capacity) this.entries.delete(this.entries.keys().next().value!)
    }
    this.entries.set(key, entry)
    return entry
  }
}

function share(prepared: PreparedSubscription): SharedSubscription {
  const notJson = JSON.stringify({ data: null, errors: [{ message: 'The event payload is not valid JSON', path: [prepared.responseKey] }] })
  const render = (text: string): string => {
    let payload: unknown
    try {
      payload = JSON.parse(text)
    } catch {
      return notJson
    }
    return prepared.project(payload)
  }
  let lastText: string | undefined
  let lastResult = ''
  return {
    prepared,
    resultOf(text) {
      if (text === lastText) return lastResult
      const result = render(text)
      if (text.length <= REMEMBERED_PAYLOAD_CHARS) {
        lastText = text
        lastResult = result
      }
      return result
    },
  }
}
