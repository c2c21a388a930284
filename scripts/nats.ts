/**
 * The two `nats` CLI steps of docs/deploy-node.md, for a machine without that CLI, written with
 * the client library edge-stream itself uses. They connect as the server does: over WebSocket to
 * NATS_DEFAULT_URL (default ws://127.0.0.1:8080, the guide's nats.conf), with NATS_DEFAULT_TOKEN
 * or NATS_DEFAULT_USER / NATS_DEFAULT_PASS when set.
 *
 *   npm run nats:stream -- EMPLOYEES 'employeeUpdated.>'            creates the stream (or updates its subjects)
 *   npm run nats:publish -- employeeUpdated.1 '{"id":1,"name":"Ada"}' publishes one message, prints its sequence
 */
import { wsconnect, type NatsConnection } from '@nats-io/nats-core'
import { jetstream, jetstreamManager, JetStreamApiError } from '@nats-io/jetstream'
import WebSocket from 'ws'

// Node 20 has no global WebSocket, which wsconnect needs (the Node entry does the same).
globalThis.WebSocket ??= WebSocket as unknown as typeof globalThis.WebSocket

const usage = `usage: npm run nats:stream -- <stream> <subject>...
       npm run nats:publish -- <subject> <payload>`

async function connect(): Promise<NatsConnection> {
  const env = process.env
  const url = env.NATS_DEFAULT_URL || 'ws://127.0.0.1:8080'
  try {
    return await wsconnect({
      servers: url,
      name: 'edge-stream-scripts',
      timeout: 5000,
      ...(env.NATS_DEFAULT_TOKEN ? { token: env.NATS_DEFAULT_TOKEN } : {}),
      ...(env.NATS_DEFAULT_USER ? { user: env.NATS_DEFAULT_USER, pass: env.NATS_DEFAULT_PASS ?? '' } : {}),
    })
  } catch (error) {
    throw new Error(`cannot connect to NATS_DEFAULT_URL ${url}: ${(error as Error).message}`)
  }
}

/** Creates the stream, or sets the subjects of an existing one of that name. */
async function addStream(nc: NatsConnection, name: string, subjects: string[]): Promise<string> {
  const jsm = await jetstreamManager(nc)
  try {
    const existing = await jsm.streams.info(name)
    await jsm.streams.update(name, { ...existing.config, subjects })
    return `stream ${name} updated: captures ${subjects.join(', ')} (${existing.state.messages} messages kept)`
  } catch (error) {
    if (!(error instanceof JetStreamApiError) || error.status !== 404) throw error
  }
  await jsm.streams.add({ name, subjects })
  return `stream ${name} created: captures ${subjects.join(', ')}`
}

/** Publishes into the stream that captures the subject; says so when none does. */
async function publish(nc: NatsConnection, subject: string, payload: string): Promise<string> {
  const streams = await jetstreamManager(nc)
  const captured = await streams.streams.find(subject).catch(() => undefined)
  if (!captured) {
    nc.publish(subject, payload)
    await nc.flush()
    return `published to ${subject}: no stream captures it, so it reaches live subscribers only and has no id to resume from`
  }
  const ack = await jetstream(nc).publish(subject, payload)
  return `published to ${subject}: stream ${ack.stream}, sequence ${ack.seq}`
}

const [command, ...args] = process.argv.slice(2)
if ((command === 'stream' && args.length >= 2) || (command === 'publish' && args.length === 2)) {
  let nc: NatsConnection | undefined
  try {
    nc = await connect()
    console.log(command === 'stream' ? await addStream(nc, args[0]!, args.slice(1)) : await publish(nc, args[0]!, args[1]!))
  } catch (error) {
    console.error(`nats ${command}: ${(error as Error).message}`)
    process.exitCode = 1
  } finally {
    await nc?.close()
  }
} else {
  console.error(usage)
  process.exitCode = 2
}
