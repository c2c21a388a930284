/**
 * The Upstash REST translation of the tests (test/support/upstash-rest-server.ts) in
 * a process of its own, so neither the function nor the benchmark's clients share
 * their thread with it. Argument: the redis-server port.
 */
import { startUpstashRestServer } from '../test/support/upstash-rest-server'

const rest = await startUpstashRestServer(Number(process.argv[2]))
console.log(`listening ${rest.url} ${rest.token}`)
