import type { TestProject } from 'vitest/node'
import { startNatsServer } from './nats-server'
import { startRedisServer } from './redis-server'

declare module 'vitest' {
  export interface ProvidedContext {
    natsWsUrl: string
    /** The port of the real redis-server on 127.0.0.1. */
    redisPort: number
  }
}

/** Starts the real brokers once for the whole run and stops them after it. */
export default async function setup(project: TestProject) {
  const nats = await startNatsServer()
  project.provide('natsWsUrl', nats.wsUrl)
  const redis = await startRedisServer()
  project.provide('redisPort', redis.port)
  return async () => {
    await nats.stop()
    await redis.stop()
  }
}
