import { spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { freePort } from '../ports'
import { ensureCommand, startProcess, startRestartable } from '../processes'

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
  ensureCommand('java', 'openjdk-17-jre-headless')
  const classpath = `${fetchKafkaJars()}*`
  const dir = mkdtempSync(join(tmpdir(), 'edge-stream-kafka-'))
  const [port, controllerPort] = [await freePort(), await freePort()]
  const properties = join(dir, 'server.properties')
  writeFileSync(
    properties,
    [
      'process.roles=broker,controller',
      'node.id=1',
      `controller.quorum.bootstrap.servers=127.0.0.1:${controllerPort}`,
      `listeners=PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controllerPort}`,
      `advertised.listeners=PLAINTEXT://127.0.0.1:${port}`,
      'controller.listener.names=CONTROLLER',
      'listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
      `log.dirs=${join(dir, 'data')}`,
      // One node: every internal topic has one replica.
      'offsets.topic.replication.factor=1',
      'transaction.state.log.replication.factor=1',
      'transaction.state.log.min.isr=1',
      'share.coordinator.state.topic.replication.factor=1',
      'share.coordinator.state.topic.min.isr=1',
      'group.initial.rebalance.delay.ms=0',
      'auto.create.topics.enable=false',
    ].join('\n'),
  )
  // Client-side JIT only and a small heap: the broker starts in about two seconds.
  const jvm = ['-Xmx512m', '-XX:+UseSerialGC', '-XX:TieredStopAtLevel=1', `-Dlog4j2.configurationFile=${join(here, 'log4j2.properties')}`, '-cp', classpath]
  // One id in 64 would start with '-' and be read as an option (Kafka's own random ids avoid it too).
  let clusterId: string
  do {
    clusterId = randomBytes(16).toString('base64url')
  } while (clusterId.startsWith('-'))
  const format = spawnSync('java', [...jvm, 'kafka.tools.StorageTool', 'format', '--standalone', '-t', clusterId, '-c', properties], { encoding: 'utf8' })
  if (format.status !== 0) throw new Error(`formatting the Kafka storage failed:\n${format.stdout}${format.stderr}`)
  const start = () => startProcess('java', [...jvm, 'kafka.Kafka', properties], /Kafka Server started/, { timeoutMs: 60_000 })
  return {
    bootstrap: `127.0.0.1:${port}`,
    ...(await startRestartable(start, dir)),
  }
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
