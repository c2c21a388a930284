import { spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { freePort } from '../ports'
import { ensureCommand, startProcess, startRestartable, stopChild, type RunningProcess } from '../processes'

export interface KafkaBroker {
  /** host:port of the PLAINTEXT listener on 127.0.0.1. */
  bootstrap: string
  /** Stops the broker (SIGTERM, a controlled shutdown) and starts it again on the same ports and data. */
  restart(): Promise<void>
  stop(): Promise<void>
}

const KAFKA_VERSION = '4.4.0'
const here = fileURLToPath(new URL('.', import.meta.url))
/** .cache/ is gitignored; Maven keeps its own copy in ~/.m2 as well. */
const JARS = fileURLToPath(new URL(`../../../.cache/kafka-${KAFKA_VERSION}/`, import.meta.url))

/**
 * A real Apache Kafka broker in KRaft mode (one node, broker and controller), from
 * the Maven Central jars of org.apache.kafka:kafka_2.13 (see pom.xml), on free
 * loopback ports, with its data in a temporary directory removed at stop.
 */
export async function startKafkaBroker(): Promise<KafkaBroker> {
  const dir = mkdtempSync(join(tmpdir(), 'edge-stream-kafka-'))
  const [port, controllerPort] = [await freePort(), await freePort()]
  const properties = writeProperties(dir, 1, port, controllerPort, `controller.quorum.bootstrap.servers=127.0.0.1:${controllerPort}`, [
    // One node: every internal topic has one replica.
    'offsets.topic.replication.factor=1',
    'transaction.state.log.replication.factor=1',
    'transaction.state.log.min.isr=1',
    'share.coordinator.state.topic.replication.factor=1',
    'share.coordinator.state.topic.min.isr=1',
  ])
  format(properties, ['--standalone'])
  return {
    bootstrap: `127.0.0.1:${port}`,
    ...(await startRestartable(() => startBroker(properties), dir)),
  }
}

export interface KafkaClusterNode {
  /** The node id (1, 2, 3), as Kafka's metadata names partition leaders. */
  id: number
  bootstrap: string
  /** Running now (false between kill and start). */
  readonly running: boolean
}

export interface KafkaCluster {
  /** Every node's host:port, comma-separated (bootstrap.servers). */
  bootstrap: string
  nodes: readonly KafkaClusterNode[]
  /** SIGKILL: no controlled shutdown, no leadership handed over. */
  kill(id: number): Promise<void>
  /** Starts a killed node again on its ports and data. */
  start(id: number): Promise<void>
  stop(): Promise<void>
}

const CLUSTER_SIZE = 3

/**
 * Three real Kafka nodes in KRaft mode, each broker and controller (a static quorum of
 * three voters), for topics replicated on all three. Writes need two replicas in sync
 * (min.insync.replicas 2, acks all), so one node may be down; only an in-sync replica
 * may become leader (unclean.leader.election.enable false, Kafka's default, stated).
 * A node missing heartbeats for 5 s is fenced and its partitions get new leaders.
 */
export async function startKafkaCluster(): Promise<KafkaCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'edge-stream-kafka-cluster-'))
  const ports: { id: number; port: number; controller: number }[] = []
  for (let id = 1; id <= CLUSTER_SIZE; id++) ports.push({ id, port: await freePort(), controller: await freePort() })
  const voters = `controller.quorum.voters=${ports.map((p) => `${p.id}@127.0.0.1:${p.controller}`).join(',')}`
  const clusterId = newClusterId()
  const nodes = ports.map(({ id, port, controller }) => {
    const properties = writeProperties(join(dir, `node-${id}`), id, port, controller, voters, [
      'offsets.topic.replication.factor=3',
      'transaction.state.log.replication.factor=3',
      'transaction.state.log.min.isr=2',
      'share.coordinator.state.topic.replication.factor=3',
      'share.coordinator.state.topic.min.isr=2',
      'default.replication.factor=3',
      'min.insync.replicas=2',
      'unclean.leader.election.enable=false',
      'broker.heartbeat.interval.ms=1000',
      'broker.session.timeout.ms=5000',
    ])
    format(properties, [], clusterId)
    return { id, bootstrap: `127.0.0.1:${port}`, properties, process: undefined as RunningProcess | undefined }
  })
  // A node finishes starting only once the quorum has formed: all three start together.
  await Promise.all(nodes.map(async (node) => (node.process = await startBroker(node.properties))))
  const nodeOf = (id: number) => {
    const node = nodes.find((n) => n.id === id)
    if (!node) throw new Error(`no Kafka node ${id}`)
    return node
  }
  return {
    bootstrap: nodes.map((n) => n.bootstrap).join(','),
    nodes: nodes.map((node) => ({
      id: node.id,
      bootstrap: node.bootstrap,
      get running() {
        return node.process !== undefined
      },
    })),
    async kill(id) {
      const node = nodeOf(id)
      const child = node.process?.child
      node.process = undefined
      if (!child || child.exitCode !== null || child.signalCode !== null) return
      await new Promise<void>((resolve) => {
        child.once('exit', () => resolve())
        child.kill('SIGKILL')
      })
    },
    async start(id) {
      const node = nodeOf(id)
      if (node.process === undefined) node.process = await startBroker(node.properties)
    },
    async stop() {
      await Promise.all(nodes.map((node) => (node.process ? stopChild(node.process.child) : undefined)))
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

/** server.properties of one KRaft node (broker and controller) with its data under `dir`; returns its path. */
function writeProperties(dir: string, id: number, port: number, controllerPort: number, quorum: string, replication: string[]): string {
  mkdirSync(dir, { recursive: true })
  const properties = join(dir, 'server.properties')
  writeFileSync(
    properties,
    [
      'process.roles=broker,controller',
      `node.id=${id}`,
      quorum,
      `listeners=PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controllerPort}`,
      `advertised.listeners=PLAINTEXT://127.0.0.1:${port}`,
      'controller.listener.names=CONTROLLER',
      'listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
      `log.dirs=${join(dir, 'data')}`,
      ...replication,
      'group.initial.rebalance.delay.ms=0',
      'auto.create.topics.enable=false',
    ].join('\n'),
  )
  return properties
}

/** Client-side JIT only and a small heap: a broker starts in about two seconds. */
function jvm(): string[] {
  ensureCommand('java', 'openjdk-17-jre-headless')
  const classpath = `${fetchKafkaJars()}*`
  return ['-Xmx512m', '-XX:+UseSerialGC', '-XX:TieredStopAtLevel=1', `-Dlog4j2.configurationFile=${join(here, 'log4j2.properties')}`, '-cp', classpath]
}

function newClusterId(): string {
  // One id in 64 would start with '-' and be read as an option (Kafka's own random ids avoid it too).
  let clusterId: string
  do {
    clusterId = randomBytes(16).toString('base64url')
  } while (clusterId.startsWith('-'))
  return clusterId
}

function format(properties: string, options: string[], clusterId = newClusterId()): void {
  const result = spawnSync('java', [...jvm(), 'kafka.tools.StorageTool', 'format', ...options, '-t', clusterId, '-c', properties], { encoding: 'utf8' })
  if (result.status !== 0) throw new Error(`formatting the Kafka storage failed:\n${result.stdout}${result.stderr}`)
}

function startBroker(properties: string): Promise<RunningProcess> {
  return startProcess('java', [...jvm(), 'kafka.Kafka', properties], /Kafka Server started/, { timeoutMs: 120_000 })
}

/** The broker's jars, copied from Maven Central on the first run and reused after; returns their directory. */
export function fetchKafkaJars(): string {
  const complete = join(JARS, '.complete')
  if (existsSync(complete)) return JARS
  ensureCommand('mvn', 'maven')
  mkdirSync(JARS, { recursive: true })
  const result = spawnSync(
    'mvn',
    ['-q', '-B', '-f', join(here, 'pom.xml'), 'dependency:copy-dependencies', `-DoutputDirectory=${JARS}`, '-DincludeScope=runtime'],
    { encoding: 'utf8' },
  )
  if (result.status !== 0) throw new Error(`mvn could not fetch the Kafka jars:\n${result.stdout}${result.stderr}`)
  writeFileSync(complete, KAFKA_VERSION)
  return JARS
}
