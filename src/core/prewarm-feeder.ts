import { TtsError, toTtsError } from './errors.js'
import type { PrewarmOutcome, PrewarmTask } from './prewarm-batch.js'
import { countOutcome } from './count-outcome.js'
import { systemClock, type Clock, type Logger, type QueueStats, type TtsObserver } from './ports/index.js'
import type { TtsService } from './tts-service.js'

/** Tasks the feeder serves in FIFO order, reporting each outcome back (a pre-warm batch is one). */
export interface FeedSource {
  hasNext(): boolean
  /** The next task; called only after hasNext() said yes. */
  take(): PrewarmTask | undefined
  /** How a task taken from this source ended (`now`: the clock's ms). */
  settled(outcome: PrewarmOutcome, now: number): void
  readonly id: string
}

export interface PrewarmFeederDeps {
  /** Handed each task; the batch looked the key up at submission, so this does not again. */
  readonly service: Pick<TtsService, 'getWithoutLookup'>
  /** Read before each hand-over, to leave room in the queue for live calls. */
  readonly queue: { stats(): QueueStats }
  readonly logger: Logger
  readonly clock?: Clock | undefined
  /** Told about each item's result with source `prewarm` (the service does not report these itself). */
  readonly observer?: TtsObserver | undefined
  /** Waits `ms` or until `signal` aborts (then resolves early). Injectable so tests never sleep. */
  readonly wait?: ((ms: number, signal: AbortSignal) => Promise<void>) | undefined
}

export interface PrewarmFeederOptions {
  /**
   * Pieces of work in flight at once, across all sources. Default: twice the queue's
   * concurrency, at most a quarter of its limit (at least 1), read from queue.stats().
   */
  readonly concurrency?: number | undefined
  /** Attempts of one piece of work the queue refuses with TTS_ERR_OVERLOADED. Default 5. */
  readonly overloadAttempts?: number | undefined
  /** Pause when the queue has no headroom and nothing of ours is in flight to wake us. Default 1000 ms. */
  readonly idleRetryMs?: number | undefined
}

const defaultWait = (ms: number, signal: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    if (signal.aborted) return resolve()
    const timer = setTimeout(done, ms)
    timer.unref()
    signal.addEventListener('abort', done, { once: true })
    function done(): void {
      clearTimeout(timer)
      signal.removeEventListener('abort', done)
      resolve()
    }
  })

/**
 * Hands pre-warm tasks to the service a few at a time, at `prewarm` priority: at most
 * `concurrency` in flight (never one promise per item of a 10,000-item batch), and only while
 * the queue is at most half full, so pre-warm work is never the reason a live call gets
 * TTS_ERR_OVERLOADED. Each task takes one path: source → here → service, its outcome told to
 * the observer and recorded on its source. When a settling task frees a slot it pumps again;
 * with nothing of ours in flight and no headroom, it polls every `idleRetryMs`.
 */
export class PrewarmFeeder {
  readonly #deps: PrewarmFeederDeps
  readonly #clock: Clock
  readonly #wait: (ms: number, signal: AbortSignal) => Promise<void>
  readonly #fixedConcurrency: number | undefined
  readonly #overloadAttempts: number
  readonly #idleRetryMs: number
  readonly #sources: FeedSource[] = []
  readonly #running = new Set<Promise<void>>()
  readonly #closing = new AbortController()
  #idleRetryScheduled = false

  constructor(deps: PrewarmFeederDeps, options: PrewarmFeederOptions = {}) {
    this.#deps = deps
    this.#clock = deps.clock ?? systemClock
    this.#wait = deps.wait ?? defaultWait
    this.#fixedConcurrency = options.concurrency === undefined ? undefined : Math.max(1, options.concurrency)
    this.#overloadAttempts = Math.max(1, options.overloadAttempts ?? 5)
    this.#idleRetryMs = Math.max(1, options.idleRetryMs ?? 1000)
  }

  /** Aborted once close() started. */
  get closing(): AbortSignal {
    return this.#closing.signal
  }

  /** Pieces of work handed over and not yet settled. */
  get inFlight(): number {
    return this.#running.size
  }

  /** Serves `source` after the ones already added. */
  add(source: FeedSource): void {
    if (this.#closing.signal.aborted) return
    this.#sources.push(source)
    this.pump()
  }

  /**
   * Runs `attempt`, trying again (after the Retry-After the error carries) while the queue
   * refuses it as overloaded: live traffic filled it between our check and the hand-over.
   * Gives up with TTS_ERR_SHUTTING_DOWN when closing.
   */
  async retryWhileOverloaded<T>(attempt: () => Promise<T>): Promise<T> {
    for (let n = 1; ; n++) {
      try {
        return await attempt()
      } catch (err) {
        const error = toTtsError(err)
        if (error.code !== 'TTS_ERR_OVERLOADED' || n >= this.#overloadAttempts || this.#closing.signal.aborted) throw error
        await this.#wait(Math.max(1, error.retryAfterSeconds ?? 1) * 1000, this.#closing.signal)
        if (this.#closing.signal.aborted) throw new TtsError('TTS_ERR_SHUTTING_DOWN', { cause: error })
      }
    }
  }

  /** Hands over as much as the limits allow now. */
  pump(): void {
    while (!this.#closing.signal.aborted) {
      const source = this.#nextSource()
      if (source === undefined) return
      let stats: QueueStats
      try {
        stats = this.#deps.queue.stats()
      } catch (err) {
        this.#deps.logger.warn({ err }, 'pre-warm: queue stats unavailable; retrying later')
        this.#scheduleIdleRetry()
        return
      }
      if (this.#running.size >= this.#concurrency(stats)) return
      if (!this.#hasHeadroom(stats)) {
        // A settling piece of ours pumps again; with none in flight, poll.
        if (this.#running.size === 0) this.#scheduleIdleRetry()
        return
      }
      const task = source.take()
      if (task === undefined) continue
      const run: Promise<void> = this.#handOver(source, task)
        .catch((err: unknown) => this.#deps.logger.error({ err }, 'pre-warm: hand-over rejected (a bug: it must not)'))
        .finally(() => {
          this.#running.delete(run)
          this.pump()
        })
      this.#running.add(run)
    }
  }

  /** Hands over nothing more and waits, at most `graceMs`, for the work in flight. */
  async close(graceMs = 0): Promise<void> {
    this.#closing.abort()
    this.#sources.length = 0
    if (this.#running.size === 0) return
    let timer: NodeJS.Timeout | undefined
    await Promise.race([
      Promise.all(this.#running),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, graceMs)
        timer.unref()
      }),
    ])
    clearTimeout(timer)
  }

  /** Never rejects: the outcome goes to the observer and to the task's source. */
  async #handOver(source: FeedSource, task: PrewarmTask): Promise<void> {
    const started = performance.now()
    let outcome: PrewarmOutcome
    try {
      const result = await this.retryWhileOverloaded(() =>
        this.#deps.service.getWithoutLookup(task.resolved, { priority: 'prewarm', pin: task.pin, source: 'prewarm', keepAlive: true }),
      )
      outcome = { status: result.status }
      this.#observe(() => countOutcome(this.#deps.observer, 'prewarm', result, started))
    } catch (err) {
      const error = toTtsError(err)
      outcome = { error: { index: task.index, code: error.code, message: error.message } }
      this.#observe(() => countOutcome(this.#deps.observer, 'prewarm', error, started))
      if (error.status >= 500 && error.code !== 'TTS_ERR_SHUTTING_DOWN') {
        this.#deps.logger.warn({ batch: source.id, index: task.index, key: task.resolved.key, err: error }, 'pre-warm item failed')
      }
    }
    source.settled(outcome, this.#clock.now())
  }

  #observe(report: () => void): void {
    try {
      report()
    } catch (err) {
      this.#deps.logger.warn({ err }, 'pre-warm: observer threw')
    }
  }

  #nextSource(): FeedSource | undefined {
    while (this.#sources.length > 0) {
      const first = this.#sources[0]
      if (first !== undefined && first.hasNext()) return first
      this.#sources.shift()
    }
    return undefined
  }

  #concurrency(stats: QueueStats): number {
    if (this.#fixedConcurrency !== undefined) return this.#fixedConcurrency
    const byWorkers = Math.max(1, stats.concurrency * 2)
    return stats.limit > 0 ? Math.max(1, Math.min(byWorkers, Math.floor(stats.limit / 4))) : byWorkers
  }

  /** Room for live calls: pre-warm only feeds while the queue is at most half full. */
  #hasHeadroom(stats: QueueStats): boolean {
    return stats.limit <= 0 || stats.waiting < Math.max(1, Math.floor(stats.limit / 2))
  }

  #scheduleIdleRetry(): void {
    if (this.#idleRetryScheduled || this.#closing.signal.aborted) return
    this.#idleRetryScheduled = true
    this.#wait(this.#idleRetryMs, this.#closing.signal).then(
      () => {
        this.#idleRetryScheduled = false
        this.pump()
      },
      (err: unknown) => {
        this.#idleRetryScheduled = false
        this.#deps.logger.error({ err }, 'pre-warm: wait failed')
      },
    )
  }
}
