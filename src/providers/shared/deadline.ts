/**
 * Runs one broker call with its own deadline and the stream's abort signal, for every
 * provider that calls a broker over HTTP. The call gets a signal that aborts on either;
 * the returned promise settles at the deadline or abort even when the call ignores its
 * signal (some clients cannot be aborted, or retry inside), so a stream never stalls on
 * it. A missed deadline or an abort rejects with `Failure`, the provider's error class.
 * Without `outer`, only the deadline: for a client bound to the stream's signal, whose
 * requests settle by themselves when the stream ends.
 */
export function withDeadline<T>(
  what: string,
  ms: number,
  outer: AbortSignal | undefined,
  run: (signal: AbortSignal) => Promise<T>,
  Failure: new (message: string) => Error = Error,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const controller = new AbortController()
    let forget = () => {}
    const finish = () => {
      clearTimeout(timer)
      forget()
    }
    const onAbort = () => {
      finish()
      controller.abort()
      reject(new Failure(`${what} was cancelled`))
    }
    const timer = setTimeout(() => {
      finish()
      controller.abort()
      reject(new Failure(`${what} got no answer within ${ms} ms`))
    }, ms)
    if (outer?.aborted) {
      onAbort()
      return
    }
    if (outer) forget = whenAborted(outer, onAbort)
    run(controller.signal).then(
      (value) => {
        finish()
        resolve(value)
      },
      (error: unknown) => {
        finish()
        reject(error)
      },
    )
  })
}

const callbacks = new WeakMap<AbortSignal, Set<() => void>>()

/**
 * One 'abort' listener per signal, however many calls wait on it: a stream runs
 * dozens of calls at once, and Node warns of a leak from the eleventh listener on.
 */
function whenAborted(signal: AbortSignal, callback: () => void): () => void {
  let waiting = callbacks.get(signal)
  if (waiting === undefined) {
    const set = new Set<() => void>()
    callbacks.set(signal, set)
    signal.addEventListener('abort', () => [...set].forEach((run) => run()), { once: true })
    waiting = set
  }
  const registered = waiting
  registered.add(callback)
  return () => registered.delete(callback)
}
