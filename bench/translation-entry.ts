/**
 * The tests' translations of the brokers' HTTP protocols, each in a process of its
 * own so that neither the function nor the benchmark's clients share a thread with it:
 *
 *   translation-entry.ts upstash-redis <redis-server port>   Upstash REST onto redis-server
 *   translation-entry.ts redpanda <kafka host:port>           Redpanda HTTP Proxy onto Kafka
 *
 * Prints `listening <url> <token>` (token `-` where the protocol has none).
 */
import { startKafkaHttp } from '../test/support/kafka/kafka-fixtures'
import { startUpstashRestServer } from '../test/support/upstash-rest-server'

const [kind, target] = process.argv.slice(2)
if (kind === 'upstash-redis') {
  const rest = await startUpstashRestServer(Number(target))
  console.log(`listening ${rest.url} ${rest.token}`)
} else if (kind === 'redpanda') {
  const proxy = await startKafkaHttp(target!, 'redpanda')
  console.log(`listening ${proxy.url} -`)
} else {
  throw new Error(`unknown translation "${kind}"`)
}
