/**
 * Waits until `condition` holds, checking it again after each check settles (at
 * most every 50 ms), for at most `timeoutMs`; rejects naming what was awaited.
 * For conditions only observable by asking (a broker's counters, a process's memory).
 */
export async function waitFor(condition: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting until ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}
