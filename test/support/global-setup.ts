import type { TestProject } from 'vitest/node'
import { startNatsServer } from './nats-server'

declare module 'vitest' {
  export interface ProvidedContext {
    natsWsUrl: string
  }
}

/** Starts the real brokers once for the whole run and stops them after it. */
export default async function setup(project: TestProject) {
  const nats = await startNatsServer()
  project.provide('natsWsUrl', nats.wsUrl)
  return async () => {
    await nats.stop()
  }
}
