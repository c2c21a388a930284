/**
 * The batch renderer of a federated graph's subscriptions: events whose selection needs other
 * subgraphs go through entity resolution, a batch at a time, and keep their own cursors; the rest
 * render as for a plain EDFS schema. The resolution code is imported on the first such batch, so
 * a deployment without an execution config never loads it.
 */
import type { PreparedSubscription } from '../graphql/operation'
import { eventRange, itemFrame, type FrameRendering } from '../relay/frame-renderer'
import type { BatchRenderer } from '../relay/relay'
import { nextFrame } from '../sse/frames'
import type { EnrichedSubscription, EntityResolver } from './entity-resolution'
import type { FederatedGraph } from './execution-config'

export interface FederationOptions {
  graph: FederatedGraph
  /** Each subgraph request, and all hops of one batch, end after this long. */
  subgraphTimeoutMs: number
  /** Lower-cased names of the client headers passed on to subgraphs. */
  forwardHeaders: string[]
  /** Identical subgraph requests in flight share one answer: only where requests may share I/O (Node). */
  shareInFlight: boolean
}

export type FederatedRenderer = (prepared: PreparedSubscription, rendering: FrameRendering, requestHeaders: Headers) => BatchRenderer

export function federatedRenderer({ graph, subgraphTimeoutMs, forwardHeaders, shareInFlight }: FederationOptions): FederatedRenderer {
  let resolver: Promise<EntityResolver> | undefined
  const enrichments = new WeakMap<PreparedSubscription, Promise<EnrichedSubscription | undefined>>()
  const enrichmentOf = (prepared: PreparedSubscription): Promise<EnrichedSubscription | undefined> => {
    let enrichment = enrichments.get(prepared)
    if (!enrichment) {
      resolver ??= import('./entity-resolution').then((module) => module.createEntityResolver(graph, subgraphTimeoutMs, shareInFlight))
      const { document, operation, variables } = prepared.request
      enrichment = resolver.then((entities) => entities.prepare(document, operation, variables, prepared.fieldName, prepared.responseKey))
      enrichments.set(prepared, enrichment)
    }
    return enrichment
  }

  return (prepared, rendering, requestHeaders) => {
    const headers: Record<string, string> = {}
    for (const name of forwardHeaders) {
      const value = requestHeaders.get(name)
      if (value !== null) headers[name] = value
    }
    const plain = itemFrame(rendering)
    const render: BatchRenderer = async (items, signal) => {
      const enrichment = await enrichmentOf(prepared)
      const range = eventRange(items)
      let frames = ''
      if (!enrichment) {
        for (const item of items) frames += plain(item, range)
        return frames
      }
      const payloads: string[] = []
      for (const item of items) if (item.type === 'event' && item.error === undefined) payloads.push(item.text)
      let results: string[] = []
      if (payloads.length > 0) {
        const resolved = await enrichment.resolve(payloads, { headers, signal })
        results = resolved.results
      }
      let next = 0
      for (const item of items) {
        if (item.type === 'event' && item.error === undefined) {
          frames += nextFrame(item.position === undefined ? undefined : rendering.cursorOf(item.position, range?.first, range?.last), results[next++]!)
        } else frames += plain(item, range)
      }
      return frames
    }
    return render
  }
}
