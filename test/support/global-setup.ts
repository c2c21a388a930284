import type { TestProject } from 'vitest/node'
import { currentNatsServerBinary, debianNatsServerBinary, startNatsServer } from './nats-server'
import { startRedisServer } from './redis-server'
import { startKafkaBroker } from './kafka/kafka-broker'

declare module 'vitest' {
  export interface ProvidedContext {
    /** nats-server 2.12 (what production runs), WebSocket listener. */
    natsWsUrl: string
    /** nats-server 2.9 (Debian's; one filter subject per consumer), WebSocket listener. */
    natsLegacyWsUrl: string
    /** The port of the real redis-server on 127.0.0.1. */
    redisPort: number
    /** host:port of the real Apache Kafka broker (KRaft, one node) on 127.0.0.1. */
    kafkaBootstrap: string
  }
}

/** Starts the real brokers once for the whole run and stops them after it. */
export default async function setup(project: TestProject) {
  const nats = await startNatsServer(currentNatsServerBinary())
  project.provide('natsWsUrl', nats.wsUrl)
  const legacyNats = await startNatsServer(debianNatsServerBinary())
  project.provide('natsLegacyWsUrl', legacyNats.wsUrl)
  const redis = await startRedisServer()
  project.provide('redisPort', redis.port)
  const kafka = await startKafkaBroker()
  project.provide('kafkaBootstrap', kafka.bootstrap)
  return async () => {
    await nats.stop()
    await legacyNats.stop()
    await redis.stop()
    await kafka.stop()
  }
}
