import type { Provider, ProviderItem, ResolvedRoute, StartPosition } from '../provider'
import type { KafkaReader } from './kafka-reader'
import { KafkaStream, type KafkaStreamOptions } from './kafka-stream'
import { compareKafkaPositions, isKafkaPosition } from './position'

/** Kafka read over HTTP, partition by partition, by offset; the position is the whole offset vector. */
export class KafkaProvider implements Provider {
  constructor(
    private readonly reader: KafkaReader,
    private readonly options: KafkaStreamOptions,
  ) {}

  readonly comparePositions = compareKafkaPositions

  /** One offset group per topic of the route; partition counts are checked against the broker when the stream opens. */
  isValidPosition(position: string, route: ResolvedRoute): boolean {
    return isKafkaPosition(position) && position.split('~').length === route.names.length
  }

  open(route: ResolvedRoute, start: StartPosition, signal: AbortSignal): AsyncIterable<ProviderItem[]> {
    return new KafkaStream(this.reader, route.names, this.options).read(start, signal)
  }
}
