/**
 * Abortable waits for the cluster path. A Redis command cannot be cancelled, so a waiter that
 * gives up detaches from it: the command's late result or failure is logged, never unhandled.
 */
import { abortError } from '../../core/single-flight.js'
import type { Logger } from '../../core/ports/index.js'

/**
 * Resolves like `promise`, or rejects with the typed abort error (TTS_ERR_ABORTED /
 * TTS_ERR_DEADLINE_EXCEEDED / the reason's TtsError) as soon as `signal` aborts.
 */
export function raceSignal<T>(promise: Promise<T>, signal: AbortSignal | undefined, logger: Logger, what: string): Promise<T> {
  if (signal === undefined) return promise
  if (signal.aborted) {
    detach(promise, logger, what)
    return Promise.reject(abortError(signal))
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => {
      detach(promise, logger, what)
      reject(abortError(signal))
    }
    signal.addEventListener('abort', onAbort, { once: true })
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort)
        resolve(value)
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort)
        reject(err)
      },
    )
  })
}

/** Keeps a promise nobody awaits any more from becoming an unhandled rejection. */
export function detach(promise: Promise<unknown>, logger: Logger, what: string): void {
  promise.catch((err: unknown) => {
    logger.debug({ err }, `${what} failed after its waiter left`)
  })
}


/** Waits for `promises` to settle, at most `ms` (a dead Redis must not hang a close). */
export async function settleWithin(promises: readonly Promise<unknown>[], ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined
  await Promise.race([
    Promise.allSettled(promises),
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, ms)
      timer.unref()
    }),
  ])
  clearTimeout(timer)
}
