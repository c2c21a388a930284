import { KafkaHttpError } from './kafka-log'

/**
 * Runs one broker call with its own deadline and the stream's abort signal. The
 * call gets a signal that aborts on either; the returned promise settles at the
 * deadline or abort even when the call ignores its signal (@upstash/kafka cannot
 * be aborted and retries five times over ~16 s), so a stream never stalls on it.
 */
export function withDeadline<T>(what: string, ms: number, outer: AbortSignal, run: (signal: AbortSignal) => Promise<T>): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const controller = new AbortController()
    const finish = () => {
      clearTimeout(timer)
      outer.removeEventListener('abort', onAbort)
    }
    const onAbort = () => {
      finish()
      controller.abort()
      reject(new KafkaHttpError(`${what} was cancelled`))
    }
    const timer = setTimeout(() => {
      finish()
      controller.abort()
      reject(new KafkaHttpError(`${what} got no answer within ${ms} ms`))
    }, ms)
    if (outer.aborted) {
      onAbort()
      return
    }
    outer.addEventListener('abort', onAbort, { once: true })
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
