/**
 * Items pushed by broker callbacks, taken in batches by one reader.
 * Everything a callback delivers within one turn of the event loop (say, one
 * WebSocket frame of messages) is taken as one batch and written as one chunk.
 */
export class Mailbox<T> {
  private items: T[] = []
  private waiter: (() => void) | undefined

  get size(): number {
    return this.items.length
  }

  /** Whether the reader waits in `wait()` (so it has taken everything pushed before). */
  get waiting(): boolean {
    return this.waiter !== undefined
  }

  push(item: T): void {
    this.items.push(item)
    this.notify()
  }

  pushAll(items: readonly T[]): void {
    for (const item of items) this.items.push(item)
    this.notify()
  }

  takeAll(): T[] {
    const taken = this.items
    this.items = []
    return taken
  }

  /** Wakes the reader; for any change it must look at (an item, an end, an abort). */
  notify(): void {
    const waiter = this.waiter
    this.waiter = undefined
    waiter?.()
  }

  /** Resolves at the next notify; callers check their conditions first, synchronously. */
  wait(): Promise<void> {
    return new Promise((resolve) => {
      this.waiter = resolve
    })
  }
}
