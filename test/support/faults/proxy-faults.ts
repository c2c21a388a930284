import type { Fault } from './feed'
import type { TcpProxy } from './tcp-proxy'

/** How long temporary network faults last, in ms (drawn from the run's seeded generator). */
export interface FaultDurations {
  stallMs: [min: number, max: number]
  blackholeMs: [min: number, max: number]
}

const between = (random: () => number, [min, max]: [number, number]) => min + Math.floor(random() * (max - min))

/** The network faults of the proxy between the function and a broker. */
export function proxyFaults(proxy: TcpProxy, durations: FaultDurations): Fault[] {
  const healAfter = (ms: number) =>
    new Promise<void>((resolve) =>
      setTimeout(() => {
        proxy.heal()
        resolve()
      }, ms),
    )
  return [
    {
      kind: 'proxy-reset',
      // Every open connection, or about half of them.
      inject: async (random) => void proxy.reset(random() < 0.5 ? 1 : 0.5, random),
    },
    {
      kind: 'proxy-stall',
      inject: (random) => {
        proxy.stall()
        return healAfter(between(random, durations.stallMs))
      },
    },
    {
      kind: 'proxy-blackhole',
      inject: (random) => {
        proxy.blackhole()
        return healAfter(between(random, durations.blackholeMs))
      },
    },
  ]
}
