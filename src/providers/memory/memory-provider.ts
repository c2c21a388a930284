import type { Provider, ProviderItem, ResolvedRoute, StartPosition } from '../provider'
import { compareSequencePositions, isSequencePosition, planSequenceStart, type LogBounds } from '../shared/sequence'

interface Entry {
  seq: number
  subject: string
  text: string
  publishedAt: number
}

/**
 * An in-process log with JetStream's semantics: one increasing sequence over all
 * subjects, retention by message count. It is the embedded broker of `npm start`
 * and of tests that exercise the HTTP layer alone.
 */
export class MemoryBroker {
  private entries: Entry[] = []
  private lastSeq = 0
  private waiters = new Set<() => void>()

  constructor(private readonly maxMessages = 100_000) {}

  publish(subject: string, text: string): number {
    this.entries.push({ seq: ++this.lastSeq, subject, text, publishedAt: Date.now() })
    if (this.entries.length > this.maxMessages) this.entries.splice(0, this.entries.length - this.maxMessages)
    for (const wake of this.waiters) wake()
    this.waiters.clear()
    return this.lastSeq
  }

  bounds(): LogBounds {
    return { first: this.entries[0]?.seq ?? this.lastSeq + 1, last: this.lastSeq }
  }

  /** Entries with a sequence of at least `from`, on the given subjects, at most `limit`. */
  read(from: number, subjects: ReadonlySet<string>, limit: number): Entry[] {
    const start = Math.max(0, from - (this.entries[0]?.seq ?? from))
    const found: Entry[] = []
    for (let i = start; i < this.entries.length && found.length < limit; i++) {
      const entry = this.entries[i]!
      if (subjects.has(entry.subject)) found.push(entry)
    }
    return found
  }

  /** Resolves at the next publish, or when `signal` aborts. */
  nextPublish(signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        this.waiters.delete(wake)
        signal.removeEventListener('abort', wake)
        resolve()
      }
      this.waiters.add(wake)
      signal.addEventListener('abort', wake, { once: true })
    })
  }
}

export class MemoryProvider implements Provider {
  constructor(
    readonly broker: MemoryBroker,
    private readonly batchSize = 1000,
  ) {}

  readonly comparePositions = compareSequencePositions

  isValidPosition(position: string): boolean {
    return isSequencePosition(position)
  }

  async *open(route: ResolvedRoute, start: StartPosition, signal: AbortSignal): AsyncIterable<ProviderItem[]> {
    const plan = planSequenceStart(start, this.broker.bounds())
    let next = plan.deliver === 'new' ? this.broker.bounds().last + 1 : plan.sequence
    if (plan.deliver === 'from' && plan.gap) yield [plan.gap]
    const subjects = new Set(route.names)
    while (!signal.aborted) {
      // A retention cut while we were away from the log is reported like one at resume.
      const first = this.broker.bounds().first
      if (next < first) {
        yield [{ type: 'gap', requested: String(next - 1), resumedFrom: String(first - 1), reason: 'retention' }]
        next = first
      }
      const entries = this.broker.read(next, subjects, this.batchSize)
      if (entries.length === 0) {
        next = Math.max(next, this.broker.bounds().last + 1)
        await this.broker.nextPublish(signal)
        continue
      }
      next = entries[entries.length - 1]!.seq + 1
      yield entries.map((entry): ProviderItem => ({ type: 'event', position: String(entry.seq), text: entry.text, publishedAt: entry.publishedAt }))
    }
  }
}
