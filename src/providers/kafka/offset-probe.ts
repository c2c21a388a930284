/**
 * Finds a partition's log start or log end through nothing but "is a fetch at
 * this offset in range?" answers, for HTTP protocols without an offsets endpoint
 * (the Redpanda HTTP Proxy). A fetch is in range exactly on [start, end], so:
 * - above any in-range offset, the answers are monotone (in up to `end`, out after):
 *   gallop upwards, then bisect, to find `end`;
 * - below an in-range offset, they are monotone too (out below `start`, in from it):
 *   bisect to find `start`.
 * The hard part is the first in-range offset: it is looked for at 0, at the hint
 * (the offset the caller was at) and by galloping upwards from both. When retention
 * left a retained range narrower than the distance galloped over, no probe lands in
 * it and the search gives up (the stream then fails and is retried).
 */
export type InRange = (offset: number) => Promise<boolean>

const MAX_PROBES = 160

export class ProbeFailedError extends Error {
  constructor(what: string) {
    super(`no in-range offset of ${what} was found within ${MAX_PROBES} probes`)
    this.name = 'ProbeFailedError'
  }
}

export async function probeLogStart(inRange: InRange, what: string, hint?: number): Promise<number> {
  const probe = new Prober(inRange, what)
  const inside = await probe.findInside(hint)
  // Every offset probed out of range below an in-range one lies below the log start.
  return probe.lowestInside(probe.highestOutsideBelow(inside), inside)
}

export async function probeLogEnd(inRange: InRange, what: string, hint?: number): Promise<number> {
  const probe = new Prober(inRange, what)
  let inside = await probe.findInside(hint)
  let step = 1
  while (inside + step <= Number.MAX_SAFE_INTEGER && (await probe.test(inside + step))) {
    inside += step
    step *= 2
  }
  return probe.highestInside(inside, inside + step)
}

class Prober {
  private readonly answers = new Map<number, boolean>()

  constructor(
    private readonly inRange: InRange,
    private readonly what: string,
  ) {}

  async test(offset: number): Promise<boolean> {
    const known = this.answers.get(offset)
    if (known !== undefined) return known
    if (this.answers.size >= MAX_PROBES) throw new ProbeFailedError(this.what)
    const answer = await this.inRange(offset)
    this.answers.set(offset, answer)
    return answer
  }

  async findInside(hint: number | undefined): Promise<number> {
    const bases = hint === undefined || hint <= 0 ? [0] : [0, hint]
    for (const base of bases) if (await this.test(base)) return base
    for (let step = 1; step <= Number.MAX_SAFE_INTEGER; step *= 2) {
      for (const base of bases) {
        if (base + step <= Number.MAX_SAFE_INTEGER && (await this.test(base + step))) return base + step
      }
    }
    throw new ProbeFailedError(this.what)
  }

  highestOutsideBelow(offset: number): number {
    let highest = -1
    for (const [probed, answer] of this.answers) if (!answer && probed < offset && probed > highest) highest = probed
    return highest
  }

  /** The lowest in-range offset in (outside, inside], where everything in range there stays in range up to `inside`. */
  async lowestInside(outside: number, inside: number): Promise<number> {
    while (inside - outside > 1) {
      const middle = outside + Math.floor((inside - outside) / 2)
      if (await this.test(middle)) inside = middle
      else outside = middle
    }
    return inside
  }

  /** The highest in-range offset in [inside, outside), where everything from `inside` up to it is in range. */
  async highestInside(inside: number, outside: number): Promise<number> {
    while (outside - inside > 1) {
      const middle = inside + Math.floor((outside - inside) / 2)
      if (await this.test(middle)) inside = middle
      else outside = middle
    }
    return inside
  }
}
