/**
 * Replay throughput: one SSE stream reading `total` events from the start of the log,
 * beside the broker's own client reading the same events in the same run.
 */
import { cpus } from 'node:os'
import type { Env } from '../src/config/env'
import { startTarget } from '../test/support/targets'
import { replayQuery, type ReplayBroker } from './brokers/broker'
import { startNodeServer } from './support/node-server'
import { readSse } from './support/sse-reader'
import { machineCpuMicros } from './support/machine'
import { median, round } from './support/stats'

export interface RateSeries {
  /** Events per second: the median of `runs`. */
  median: number
  runs: number[]
  /** This benchmark process's CPU time per event (user + system, microseconds, median): the client's cost. */
  clientCpuMicrosPerEvent: number
  /**
   * The whole machine's CPU time per event (broker, proxy, server, client and kernel; microseconds,
   * median), and how many of its cores were busy on average while the events were read (median).
   */
  machine: { cpuMicrosPerEvent: number; busyCores: number }
}

export interface TargetReplay extends RateSeries {
  /** This target's median over the raw client's median. */
  ratio: number
  /** Node targets: the server's CPU time (user + system) per event, in microseconds, the cost of the work. */
  cpuMicrosPerEvent?: { median: number; runs: number[] }
}

export interface BrokerReplay {
  raw: RateSeries
  /** `node`: the Node entry; `node-signed`: the same with CURSOR_KEYS (ids signed, once per batch); `workerd`. */
  targets: Record<string, TargetReplay>
}

const cores = cpus().length

/** What signs the cursors of `node-signed`: one key, as a deployment with CURSOR_KEYS has. */
const SIGNING_KEYS: Env = { CURSOR_KEYS: 'bench:0123456789abcdef0123456789abcdef' }

/** Reads `total` events through the function's SSE endpoint, parsing each event's data. */
export async function readThroughSse(baseUrl: string, total: number): Promise<void> {
  const url = `${baseUrl}/graphql/stream?${new URLSearchParams({ query: replayQuery, from: 'earliest' })}`
  let read = 0
  let finish!: () => void
  const finished = new Promise<void>((resolve) => (finish = resolve))
  const reader = await readSse(url, {
    onEvent(event) {
      if (event.event !== 'next') throw new Error(`unexpected ${event.event} event: ${event.data}`)
      JSON.parse(event.data)
      if (++read === total) finish()
    },
  })
  await Promise.race([finished, reader.ended.then(() => Promise.reject(new Error(`the stream ended after ${read} of ${total} events`)))])
  reader.close()
}

interface Side {
  name: string
  /** Reads the events; returns the CPU microseconds the server spent, where it can tell. */
  read(): Promise<number | undefined>
  close(): Promise<void>
}

async function nodeSide(name: string, env: Env, total: number): Promise<Side> {
  const server = await startNodeServer(env)
  return {
    name,
    async read() {
      const before = await server.cpuMicros()
      await readThroughSse(server.baseUrl, total)
      return (await server.cpuMicros()) - before
    },
    close: () => server.close(),
  }
}

export async function benchReplay(startBroker: (total: number) => Promise<ReplayBroker>, total: number, rounds: number): Promise<BrokerReplay> {
  const broker = await startBroker(total)
  const workerd = await startTarget('workerd', broker.env)
  const sides: Side[] = [
    { name: 'raw', read: () => broker.readRaw(total).then(() => undefined), close: async () => {} },
    await nodeSide('node', broker.env, total),
    await nodeSide('node-signed', { ...broker.env, ...SIGNING_KEYS }, total),
    { name: 'workerd', read: () => readThroughSse(workerd.baseUrl, total).then(() => undefined), close: () => workerd.close() },
  ]
  try {
    // One untimed pass of each, so every side runs compiled code when timed.
    for (const side of sides) await side.read()
    const rates = sides.map(() => [] as number[])
    const cpu = sides.map(() => [] as number[])
    const clientCpu = sides.map(() => [] as number[])
    const machineCpu = sides.map(() => [] as number[])
    const busyCores = sides.map(() => [] as number[])
    for (let r = 0; r < rounds; r++) {
      // The order rotates each round, so a slow spell of the machine does not always hit the same side.
      for (let i = 0; i < sides.length; i++) {
        const which = (i + r) % sides.length
        const started = performance.now()
        const clientBefore = process.cpuUsage()
        const machineBefore = machineCpuMicros()
        const cpuMicros = await sides[which]!.read()
        rates[which]!.push(round(total / ((performance.now() - started) / 1000)))
        const client = process.cpuUsage(clientBefore)
        clientCpu[which]!.push((client.user + client.system) / total)
        const machineAfter = machineCpuMicros()
        machineCpu[which]!.push((machineAfter.busy - machineBefore.busy) / total)
        busyCores[which]!.push((cores * (machineAfter.busy - machineBefore.busy)) / (machineAfter.total - machineBefore.total))
        if (cpuMicros !== undefined) cpu[which]!.push(round(cpuMicros / total, 2))
      }
    }
    const clientCpuMicrosPerEvent = (i: number) => round(median(clientCpu[i]!), 2)
    const machine = (i: number) => ({ cpuMicrosPerEvent: round(median(machineCpu[i]!), 2), busyCores: round(median(busyCores[i]!), 2) })
    const raw = { median: round(median(rates[0]!)), runs: rates[0]!, clientCpuMicrosPerEvent: clientCpuMicrosPerEvent(0), machine: machine(0) }
    const targets: Record<string, TargetReplay> = {}
    sides.slice(1).forEach((side, i) => {
      const series = rates[i + 1]!
      const target: TargetReplay = {
        median: round(median(series)),
        runs: series,
        ratio: round(median(series) / raw.median, 2),
        clientCpuMicrosPerEvent: clientCpuMicrosPerEvent(i + 1),
        machine: machine(i + 1),
      }
      if (cpu[i + 1]!.length > 0) target.cpuMicrosPerEvent = { median: round(median(cpu[i + 1]!), 2), runs: cpu[i + 1]! }
      targets[side.name] = target
    })
    return { raw, targets }
  } finally {
    await Promise.all(sides.map((side) => side.close()))
    await broker.stop()
  }
}
