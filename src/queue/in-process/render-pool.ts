import { availableParallelism } from 'node:os'
import { DEFAULTS } from '../../core/defaults.js'
import { TtsError, toTtsError } from '../../core/errors.js'
import {
  systemClock,
  type Clock,
  type Logger,
  type Priority,
  type QueueStats,
  type RenderJob,
  type RenderOptions,
  type RenderQueue,
  type RenderedAudio,
  type RenderPoolObserver,
  type Renderer,
} from '../../core/ports/index.js'
import { abortError } from '../../core/single-flight.js'
import { DrainRateMeter, estimateRetryAfterSeconds } from './drain-rate.js'
import { PriorityWaitList } from './wait-list.js'

export interface InProcessRenderPoolOptions {
  readonly renderer: Renderer
  /** Renders at once. Absent or 0: one per CPU (os.availableParallelism()). */
  readonly concurrency?: number | undefined
  /** Jobs that may wait for a worker; one more is rejected at once (TTS_ERR_OVERLOADED). 0: none wait. Default DEFAULTS.queueLimit. */
  readonly queueLimit?: number | undefined
  /** Clock of the drain-rate window (Retry-After). Default: the system clock. */
  readonly clock?: Clock | undefined
  /** Length of the drain-rate window. Default 30 s. */
  readonly drainWindowSeconds?: number | undefined
  readonly logger?: Logger | undefined
  readonly observer?: RenderPoolObserver | undefined
}

const DEFAULT_DRAIN_WINDOW_SECONDS = 30

interface QueuedJob {
  readonly job: RenderJob
  priority: Priority
  readonly signal: AbortSignal | undefined
  /** performance.now() at enqueue. */
  readonly enqueuedAt: number
  readonly resolve: (audio: RenderedAudio) => void
  readonly reject: (err: TtsError) => void
  /** Removes the queued-abort listener (once the job leaves the queue). */
  detach: () => void
}

type Outcome = { readonly ok: true; readonly audio: RenderedAudio } | { readonly ok: false; readonly error: TtsError }

interface RunningJob {
  readonly controller: AbortController
  done: Promise<void>
}

/**
 * The default RenderQueue: a bounded pool in this process. At most `concurrency` renders run;
 * at most `queueLimit` wait, live calls ahead of pre-warm work (two FIFO lists); when full,
 * `render` rejects at once with TTS_ERR_OVERLOADED and a Retry-After estimated from the recent
 * drain rate. A queued job whose signal aborts leaves the queue at once; a running one has its
 * renderer's signal aborted (killing the engine) and rejects once the renderer settles.
 */
export class InProcessRenderPool implements RenderQueue {
  readonly #renderer: Renderer
  readonly #concurrency: number
  readonly #limit: number
  readonly #drain: DrainRateMeter
  readonly #log: Logger | undefined
  readonly #observer: RenderPoolObserver | undefined
  readonly #waiting = new PriorityWaitList<QueuedJob>()
  readonly #running = new Set<RunningJob>()
  #closed: Promise<void> | undefined

  constructor(options: InProcessRenderPoolOptions) {
    const concurrency = options.concurrency === undefined || options.concurrency === 0 ? availableParallelism() : options.concurrency
    const limit = options.queueLimit ?? DEFAULTS.queueLimit
    if (!Number.isInteger(concurrency) || concurrency < 1) {
      throw new TtsError('TTS_ERR_CONFIG', { args: [`render concurrency must be a positive integer, got ${concurrency}`] })
    }
    if (!Number.isInteger(limit) || limit < 0) {
      throw new TtsError('TTS_ERR_CONFIG', { args: [`queue limit must be a non-negative integer, got ${limit}`] })
    }
    this.#renderer = options.renderer
    this.#concurrency = concurrency
    this.#limit = limit
    this.#drain = new DrainRateMeter(options.clock ?? systemClock, options.drainWindowSeconds ?? DEFAULT_DRAIN_WINDOW_SECONDS)
    this.#log = options.logger?.child({ component: 'render-pool' })
    this.#observer = options.observer
  }

  render(job: RenderJob, options: RenderOptions): Promise<RenderedAudio> {
    if (this.#closed !== undefined) return Promise.reject(new TtsError('TTS_ERR_SHUTTING_DOWN'))
    const { signal } = options
    if (signal?.aborted === true) return Promise.reject(abortError(signal))
    const waiting = this.#waiting.size
    if (this.#running.size >= this.#concurrency && waiting >= this.#limit) {
      const drainPerSecond = this.#drain.perSecond()
      const retryAfterSeconds = estimateRetryAfterSeconds(waiting, drainPerSecond)
      this.#log?.debug({ key: job.key, waiting, drainPerSecond, retryAfterSeconds }, 'render queue full')
      return Promise.reject(new TtsError('TTS_ERR_OVERLOADED', { args: [waiting], retryAfterSeconds, details: { waiting, drainPerSecond } }))
    }
    return new Promise<RenderedAudio>((resolve, reject) => {
      const entry: QueuedJob = {
        job,
        priority: options.priority,
        signal,
        enqueuedAt: performance.now(),
        resolve,
        reject,
        detach: () => undefined,
      }
      if (signal !== undefined) {
        const onAbort = (): void => {
          this.#waiting.remove(entry)
          reject(abortError(signal))
        }
        signal.addEventListener('abort', onAbort, { once: true })
        entry.detach = () => signal.removeEventListener('abort', onAbort)
      }
      this.#waiting.push(entry)
      this.#pump()
    })
  }

  stats(): QueueStats {
    return {
      waiting: this.#waiting.size,
      active: this.#running.size,
      concurrency: this.#concurrency,
      limit: this.#limit,
      drainPerSecond: this.#drain.perSecond(),
    }
  }

  /** A live call now waits for `key`: its queued pre-warm job moves to the end of the live list. */
  promote(key: string): void {
    this.#waiting.promote((entry) => entry.job.key === key)
  }

  /**
   * Rejects new work (TTS_ERR_SHUTTING_DOWN) and every queued job; waits up to `graceMs` for
   * running renders, then aborts them (killing their engines) and waits up to `graceMs` more for
   * them to settle. Idempotent.
   */
  close(graceMs: number = DEFAULTS.shutdownGraceMs): Promise<void> {
    this.#closed ??= this.#shutdown(graceMs)
    return this.#closed
  }

  async #shutdown(graceMs: number): Promise<void> {
    for (const entry of this.#waiting.drain()) {
      entry.detach()
      entry.reject(new TtsError('TTS_ERR_SHUTTING_DOWN'))
    }
    if (await this.#runningSettleWithin(graceMs)) return
    this.#log?.warn({ active: this.#running.size, graceMs }, 'renders still running after the grace period; killing them')
    const reason = new TtsError('TTS_ERR_SHUTTING_DOWN')
    for (const running of this.#running) running.controller.abort(reason)
    if (!(await this.#runningSettleWithin(graceMs))) {
      this.#log?.error({ active: this.#running.size }, 'renders did not settle after being aborted')
    }
  }

  async #runningSettleWithin(ms: number): Promise<boolean> {
    if (this.#running.size === 0) return true
    let timer: NodeJS.Timeout | undefined
    const settled = await Promise.race([
      Promise.all([...this.#running].map((running) => running.done)).then(() => true),
      new Promise<false>((resolve) => {
        timer = setTimeout(() => resolve(false), ms)
      }),
    ])
    clearTimeout(timer)
    return settled
  }

  #pump(): void {
    while (this.#running.size < this.#concurrency) {
      const entry = this.#waiting.shift()
      if (entry === undefined) return
      this.#start(entry)
    }
  }

  #start(entry: QueuedJob): void {
    entry.detach()
    const waitedSeconds = (performance.now() - entry.enqueuedAt) / 1000
    this.#notify('queueWait', () => this.#observer?.queueWait?.(waitedSeconds))
    const controller = new AbortController()
    const { signal, job } = entry
    const onAbort = (): void => controller.abort(signal?.reason)
    signal?.addEventListener('abort', onAbort, { once: true })
    const running: RunningJob = { controller, done: Promise.resolve() }
    this.#running.add(running)
    const started = performance.now()
    const engine = job.request.engine
    running.done = Promise.resolve()
      .then(() => this.#renderer(job, controller.signal))
      .then(
        (audio): Outcome => ({ ok: true, audio }),
        (err: unknown): Outcome => ({ ok: false, error: toTtsError(err) }),
      )
      .then((outcome) => {
        try {
          // Free the slot before the caller hears back: whoever it calls next finds room.
          signal?.removeEventListener('abort', onAbort)
          this.#running.delete(running)
          this.#finished(engine, started, outcome.ok, outcome.ok ? undefined : outcome.error.code)
          if (!outcome.ok) this.#log?.debug({ key: job.key, engine, code: outcome.error.code }, 'render failed')
          this.#pump()
        } finally {
          if (outcome.ok) entry.resolve(outcome.audio)
          else entry.reject(outcome.error)
        }
      })
      .catch((err: unknown) => {
        // Only a bug can land here (the bookkeeping above does not throw); keep `done` resolving.
        this.#log?.error({ err, key: job.key }, 'render pool bookkeeping failed')
      })
  }

  #finished(engine: string, started: number, ok: boolean, code: string | undefined): void {
    this.#drain.record()
    const seconds = (performance.now() - started) / 1000
    this.#notify('renderFinished', () => this.#observer?.renderFinished?.(engine, seconds, ok, code))
  }

  #notify(hook: string, call: () => void): void {
    try {
      call()
    } catch (err) {
      this.#log?.warn({ err, hook }, 'render pool observer threw')
    }
  }
}
