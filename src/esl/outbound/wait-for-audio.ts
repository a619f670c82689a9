import { TtsError } from '../../core/errors.js'
import type { GetOptions, TtsResult } from '../../core/tts-service.js'
import type { Scheduler } from '../connection/scheduler.js'

export interface AudioWaitOptions {
  readonly scheduler: Scheduler
  /** scheduler.now() at which the call's deadline passes. */
  readonly dueAt: number
  /** The call's deadline (for the TTS_ERR_DEADLINE_EXCEEDED message). */
  readonly deadlineMs: number
  /** The caller already hung up: give up at once (the lookup is still made, and warms the cache). */
  readonly abandoned: boolean
  /** Receives the function that gives up the wait (hangup, shutdown) before anything else happens. */
  readonly onAbortable: (abort: (reason: TtsError) => void) => void
}

export interface AudioWait {
  /**
   * Settles with the service's answer, or rejects at once when the wait is given up (deadline,
   * hangup, shutdown), whether or not the service honours the signal; a render goes on for the
   * cache (keepAlive).
   */
  readonly result: Promise<TtsResult>
  /** Stops the deadline timer; call once the result has settled. */
  readonly cancel: () => void
}

/**
 * One call's wait on the service (`get`: `service.get` or `service.getAfterMiss`, given the call's
 * options), bounded by its deadline and abandoned when the channel goes away.
 */
export function waitForAudio(get: (options: GetOptions) => Promise<TtsResult>, options: AudioWaitOptions): AudioWait {
  const { scheduler, dueAt, deadlineMs } = options
  const controller = new AbortController()
  let cancelDeadline: (() => void) | undefined
  const result = new Promise<TtsResult>((resolve, reject) => {
    const abort = (reason: TtsError): void => {
      if (controller.signal.aborted) return
      controller.abort(reason)
      reject(reason)
    }
    options.onAbortable(abort)
    if (options.abandoned) abort(new TtsError('TTS_ERR_ABORTED'))
    get({ signal: controller.signal, keepAlive: true, source: 'esl', priority: 'live' }).then(resolve, reject)
    if (controller.signal.aborted) return
    const remainingMs = Math.max(0, dueAt - scheduler.now())
    cancelDeadline = scheduler.schedule(remainingMs, () => abort(new TtsError('TTS_ERR_DEADLINE_EXCEEDED', { args: [deadlineMs] })))
  })
  return { result, cancel: () => cancelDeadline?.() }
}
