import type { NodeProcess } from './node-process'

/**
 * Asks the function for its retained memory (after GC), one question after the
 * other, as long as it runs, and keeps the peak and the lowest. A measurement loop, not a wait.
 */
export class MemorySampler {
  count = 0
  peak = 0
  lowest = Infinity
  private running = true
  private readonly loop: Promise<void>
  private waiters: { after: number; resolve: () => void }[] = []

  constructor(private readonly fn: NodeProcess) {
    this.loop = this.sample()
  }

  /** Resolves once `more` further samples were taken. */
  collect(more: number): Promise<void> {
    return new Promise((resolve) => this.waiters.push({ after: this.count + more, resolve }))
  }

  /** Stops sampling; resolves with the peak retained bytes. */
  async stop(): Promise<number> {
    this.running = false
    await this.loop
    return this.peak
  }

  private async sample(): Promise<void> {
    while (this.running) {
      const { retained } = await this.fn.memory()
      this.peak = Math.max(this.peak, retained)
      this.lowest = Math.min(this.lowest, retained)
      this.count++
      for (const waiter of this.waiters.filter((w) => w.after <= this.count)) waiter.resolve()
      this.waiters = this.waiters.filter((w) => w.after > this.count)
      // Each sample runs a full GC in the function: spaced out so as not to slow it down much.
      await new Promise((resolve) => setTimeout(resolve, 200))
    }
  }
}
