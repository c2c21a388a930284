/**
 * A real 3-node nats-server cluster on loopback: JetStream on every node (file storage, so a
 * killed node comes back with its data), a WebSocket listener and a monitoring port on each.
 *
 * Every route between two nodes runs through a TCP proxy of its own (one per direction: node a
 * dials b through proxy a→b), so that a node can be cut off from its peers while it stays up and
 * keeps its clients: `partition(i)` blackholes the routes of node i, `heal(i)` lets them through
 * again and resets the dead ones so that the nodes dial each other anew. Routes are pinged every
 * second, so a silent route is noticed within seconds, as a real partition would be.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startTcpProxy, type TcpProxy } from './faults/tcp-proxy'
import { freePort } from './ports'
import { startProcess, stopChild, type RunningProcess } from './processes'

export interface ClusterNode {
  name: string
  wsUrl: string
  monitorUrl: string
  /** Running now (false between kill and start). */
  readonly running: boolean
}

export interface NatsCluster {
  nodes: readonly ClusterNode[]
  /** Every node's WebSocket URL, comma-separated: the value of NATS_<ID>_URL. */
  wsUrls: string
  /** The index of the node named `name` (as JetStream reports leaders). */
  indexOf(name: string): number
  /** SIGKILL: no clean shutdown, no leadership handed over. */
  kill(index: number): Promise<void>
  /** Starts a killed node again on its ports and storage. */
  start(index: number): Promise<void>
  partition(index: number): void
  heal(index: number): void
  /** Routes node `index` has to its peers now (from its monitoring port). */
  routes(index: number): Promise<number>
  stop(): Promise<void>
}

const SIZE = 3

export async function startNatsCluster(binary: string, name = 'edge-stream-test'): Promise<NatsCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'edge-stream-nats-cluster-'))
  const ports = []
  for (let i = 0; i < SIZE; i++) ports.push({ client: await freePort(), ws: await freePort(), http: await freePort(), route: await freePort() })
  // proxies[a][b]: node a's route to node b.
  const proxies: (TcpProxy | undefined)[][] = []
  for (let a = 0; a < SIZE; a++) {
    const row: (TcpProxy | undefined)[] = []
    for (const [b, target] of ports.entries()) row.push(a === b ? undefined : await startTcpProxy(target.route))
    proxies.push(row)
  }
  const linksOf = (index: number) =>
    proxies.flatMap((row, a) => row.filter((proxy, b): proxy is TcpProxy => proxy !== undefined && (a === index || b === index)))

  const configFiles = ports.map((p, i) => {
    const routes = (proxies[i] ?? []).flatMap((proxy) => (proxy ? [`nats-route://127.0.0.1:${proxy.port}`] : []))
    const file = join(dir, `n${i + 1}.conf`)
    writeFileSync(
      file,
      [
        `server_name: n${i + 1}`,
        'host: 127.0.0.1',
        `port: ${p.client}`,
        `http: 127.0.0.1:${p.http}`,
        'ping_interval: "1s"',
        'ping_max: 2',
        `jetstream { store_dir: "${join(dir, `n${i + 1}`)}" }`,
        `websocket { host: 127.0.0.1, port: ${p.ws}, no_tls: true }`,
        // Peers gossip a restarted node's advertised address and may dial it directly (an implicit
        // route), which would bypass the proxies: the address advertised refuses connections (nothing
        // listens on port 1), so every route is a configured one. no_advertise: clients neither learn it.
        `cluster { name: ${name}, host: 127.0.0.1, port: ${p.route}, advertise: "127.0.0.1:1", no_advertise: true, routes: [${routes.join(', ')}] }`,
      ].join('\n'),
    )
    return file
  })

  const processes: (RunningProcess | undefined)[] = Array.from({ length: SIZE })
  const start = async (index: number) => {
    if (processes[index]) return
    processes[index] = await startProcess(binary, ['-c', configFiles[index] ?? ''], /Server is ready/)
  }
  await Promise.all(configFiles.map((_, i) => start(i)))

  const nodes: ClusterNode[] = ports.map((p, i) => ({
    name: `n${i + 1}`,
    wsUrl: `ws://127.0.0.1:${p.ws}`,
    monitorUrl: `http://127.0.0.1:${p.http}`,
    get running() {
      return processes[i] !== undefined
    },
  }))
  await untilMetaGroupFormed(nodes)

  return {
    nodes,
    wsUrls: nodes.map((node) => node.wsUrl).join(','),
    indexOf(nodeName) {
      const index = nodes.findIndex((node) => node.name === nodeName)
      if (index < 0) throw new Error(`no node ${nodeName}`)
      return index
    },
    async kill(index) {
      const running = processes[index]
      if (!running) return
      processes[index] = undefined
      await new Promise<void>((resolve) => {
        if (running.child.exitCode !== null || running.child.signalCode !== null) return resolve()
        running.child.once('exit', () => resolve())
        running.child.kill('SIGKILL')
      })
    },
    start,
    partition(index) {
      for (const proxy of linksOf(index)) proxy.blackhole()
    },
    heal(index) {
      for (const proxy of linksOf(index)) {
        proxy.heal()
        // Blackholed connections stay dead: cut them so that the nodes dial each other again.
        proxy.reset(1)
      }
    },
    async routes(index) {
      const routez = (await (await fetch(`${nodes[index]?.monitorUrl}/routez`)).json()) as { num_routes: number }
      return routez.num_routes
    },
    async stop() {
      await Promise.all(processes.map((p) => (p ? stopChild(p.child) : undefined)))
      await Promise.all(proxies.flat().map((proxy) => proxy?.close()))
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

/** What a node's /jsz says of JetStream's meta group. */
interface MetaCluster {
  leader?: string
  replicas?: { name: string; current: boolean }[]
}

/**
 * Until every node names the same meta leader and the leader sees its two peers current. "Server
 * is ready" comes before that: a stream of three replicas asked for earlier finds no suitable peers
 * to place it on, for as long as the group takes to form on a busy machine.
 */
async function untilMetaGroupFormed(nodes: readonly ClusterNode[], forMs = 60_000): Promise<void> {
  const deadline = Date.now() + forMs
  const metaOf = async (node: ClusterNode): Promise<MetaCluster> => {
    const jsz = (await (await fetch(`${node.monitorUrl}/jsz`)).json()) as { meta_cluster?: MetaCluster }
    return jsz.meta_cluster ?? {}
  }
  for (;;) {
    const metas = await Promise.all(nodes.map(metaOf))
    const leader = metas[0]?.leader
    const leaderMeta = metas[nodes.findIndex((node) => node.name === leader)]
    const peers = leaderMeta?.replicas ?? []
    if (leader && metas.every((meta) => meta.leader === leader) && peers.length === nodes.length - 1 && peers.every((peer) => peer.current)) return
    if (Date.now() > deadline) throw new Error(`the cluster's JetStream meta group did not form in ${forMs} ms: ${JSON.stringify(metas)}`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}
