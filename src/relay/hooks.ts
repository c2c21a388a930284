import type { RelayHooks } from './relay'

/** Several sets of hooks as one, called in the order given. */
export function combineHooks(...sets: readonly RelayHooks[]): RelayHooks {
  if (sets.length === 1 && sets[0]) return sets[0]
  const each =
    <K extends keyof RelayHooks>(name: K) =>
    (...args: Parameters<NonNullable<RelayHooks[K]>>): void => {
      for (const hooks of sets) (hooks[name] as ((...a: typeof args) => void) | undefined)?.(...args)
    }
  return {
    onOpen: each('onOpen'),
    onBatch: each('onBatch'),
    onNoHistory: each('onNoHistory'),
    onRefused: each('onRefused'),
    onUpstreamError: each('onUpstreamError'),
    onClose: each('onClose'),
  }
}
