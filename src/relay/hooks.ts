import type { RelayHooks } from './relay'

const HOOK_NAMES = ['onOpen', 'onBatch', 'onNoHistory', 'onRefused', 'onUpstreamError', 'onClose'] as const satisfies readonly (keyof RelayHooks)[]

type AnyHook = (...args: unknown[]) => void

/**
 * Several sets of hooks as one, called in the order given. A hook only one set has is that
 * set's own function: `onBatch` runs for every batch of every stream, without a wrapper.
 */
export function combineHooks(...sets: readonly RelayHooks[]): RelayHooks {
  const combined: Partial<Record<keyof RelayHooks, AnyHook>> = {}
  for (const name of HOOK_NAMES) {
    const calls = sets.flatMap((hooks) => {
      const hook = hooks[name] as AnyHook | undefined
      return hook ? [hook.bind(hooks)] : []
    })
    const [only] = calls
    if (calls.length === 1 && only) combined[name] = only
    else if (calls.length > 1) {
      combined[name] = (...args) => {
        for (const call of calls) call(...args)
      }
    }
  }
  return combined as RelayHooks
}
