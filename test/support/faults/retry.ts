/**
 * A producer's retry policy: tries again every `intervalMs` while the broker is
 * down (restarting), for at most `forMs`. Not a test synchronisation: a real
 * producer retries the same way.
 */
export async function retry<T>(action: () => Promise<T>, forMs = 60_000, intervalMs = 100): Promise<T> {
  const deadline = Date.now() + forMs
  for (;;) {
    try {
      return await action()
    } catch (error) {
      if (Date.now() > deadline) throw error
      await new Promise((resolve) => setTimeout(resolve, intervalMs))
    }
  }
}
