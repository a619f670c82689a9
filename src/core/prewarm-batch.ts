import type { ErrorCode } from './errors.js'
import type { ResultStatus } from './ports/index.js'
import type { ResolvedPhrase } from './tts-service.js'

/** Why one item of a batch was not (or could not be) cached. `index` is its position in the batch. */
export interface PrewarmItemError {
  readonly index: number
  readonly code: ErrorCode
  readonly message: string
}

/**
 * `running` until every item is done or failed; `done` then (even if some failed: see
 * `failed`); `cancelled` when the service shut down before every item was handed over.
 */
export type PrewarmState = 'running' | 'done' | 'cancelled'

export interface PrewarmProgress {
  readonly id: string
  readonly state: PrewarmState
  readonly total: number
  /** Items now in the cache (cached at submission, hit, rendered or coalesced). */
  readonly done: number
  /** Rejected at submission, failed to render, or cancelled. done + failed = total once not running. */
  readonly failed: number
  /** Items already cached when the batch was submitted. */
  readonly cached: number
  /** Items this batch rendered itself. */
  readonly rendered: number
  /** ms since epoch. */
  readonly createdAt: number
  readonly finishedAt: number | undefined
  /** The first failures (at most `maxErrorsKept`), rejections included. */
  readonly errors: readonly PrewarmItemError[]
}

/** One item to hand over: its position in the batch, its resolved phrase (looked up once, at submission), whether to pin it. */
export interface PrewarmTask {
  readonly index: number
  readonly resolved: ResolvedPhrase
  readonly pin: boolean
}

/** How a task handed over ended: the service's status, or the error it failed with. */
export type PrewarmOutcome = { readonly status: ResultStatus } | { readonly error: PrewarmItemError }

export interface PrewarmBatchInit {
  readonly id: string
  readonly total: number
  readonly cached: number
  /** Cached items that are still handed over, only to be pinned (counted in `cached`, not yet in `done`). */
  readonly pinOnly: number
  readonly createdAt: number
  readonly tasks: PrewarmTask[]
  readonly rejected: readonly PrewarmItemError[]
  readonly maxErrorsKept: number
  /** Told once, when the batch finishes (the tracker logs it and may forget the batch). */
  readonly onFinished: (batch: PrewarmBatch) => void
}

/**
 * One submitted batch: its tasks in order, each taken once by the feeder, and its counters. The
 * feeder reports each task's outcome here (`settled`); nothing here calls back into the feeder.
 */
export class PrewarmBatch {
  readonly id: string
  readonly total: number
  readonly cached: number
  readonly createdAt: number
  readonly #maxErrorsKept: number
  readonly #onFinished: (batch: PrewarmBatch) => void
  readonly #errors: PrewarmItemError[]
  /** Tasks not yet taken; `#cursor` is the next one. Entries are cleared as they go. */
  #tasks: (PrewarmTask | undefined)[]
  #cursor = 0
  #inFlight = 0
  #done: number
  #failed: number
  #rendered = 0
  #cancelled = false
  #finishedAt: number | undefined
  #finished: { promise: Promise<PrewarmProgress>; resolve: (p: PrewarmProgress) => void } | undefined

  constructor(init: PrewarmBatchInit) {
    this.id = init.id
    this.total = init.total
    this.cached = init.cached
    this.createdAt = init.createdAt
    this.#maxErrorsKept = init.maxErrorsKept
    this.#onFinished = init.onFinished
    this.#tasks = init.tasks
    this.#done = init.cached - init.pinOnly
    this.#failed = init.rejected.length
    this.#errors = init.rejected.slice(0, init.maxErrorsKept)
  }

  /** Tasks not yet taken. */
  get left(): number {
    return this.#tasks.length - this.#cursor
  }

  get finishedAt(): number | undefined {
    return this.#finishedAt
  }

  hasNext(): boolean {
    return this.#cursor < this.#tasks.length
  }

  /** The next task (undefined when none is left); it counts as in flight until `settled`. */
  take(): PrewarmTask | undefined {
    const task = this.#tasks[this.#cursor]
    if (task === undefined) return undefined
    this.#tasks[this.#cursor] = undefined
    this.#cursor++
    this.#inFlight++
    return task
  }

  settled(outcome: PrewarmOutcome, now: number): void {
    this.#inFlight--
    if ('status' in outcome) {
      this.#done++
      if (outcome.status === 'rendered') this.#rendered++
    } else {
      this.#failed++
      this.#recordError(outcome.error)
    }
    this.finishIfSettled(now)
  }

  /** Cancels the tasks not yet taken (they count as failed); the ones in flight still settle. */
  cancelRest(now: number): void {
    const left = this.left
    if (left > 0) {
      this.#cancelled = true
      this.#failed += left
      this.#recordError({ index: -1, code: 'TTS_ERR_SHUTTING_DOWN', message: `${left} items cancelled: the service is shutting down` })
      this.#tasks = []
      this.#cursor = 0
    }
    this.finishIfSettled(now)
  }

  /** Marks the batch finished when nothing is left to take or in flight; true if finished. */
  finishIfSettled(now: number): boolean {
    if (this.#finishedAt !== undefined) return true
    if (this.#inFlight > 0 || this.hasNext()) return false
    this.#finishedAt = now
    this.#tasks = []
    this.#cursor = 0
    this.#onFinished(this)
    this.#finished?.resolve(this.progress())
    return true
  }

  /** Resolves with the final progress once the batch finished. */
  whenFinished(): Promise<PrewarmProgress> {
    if (this.#finishedAt !== undefined) return Promise.resolve(this.progress())
    if (this.#finished === undefined) {
      let resolve!: (p: PrewarmProgress) => void
      const promise = new Promise<PrewarmProgress>((r) => (resolve = r))
      this.#finished = { promise, resolve }
    }
    return this.#finished.promise
  }

  progress(): PrewarmProgress {
    return {
      id: this.id,
      state: this.#finishedAt === undefined ? 'running' : this.#cancelled ? 'cancelled' : 'done',
      total: this.total,
      done: this.#done,
      failed: this.#failed,
      cached: this.cached,
      rendered: this.#rendered,
      createdAt: this.createdAt,
      finishedAt: this.#finishedAt,
      errors: [...this.#errors],
    }
  }

  #recordError(error: PrewarmItemError): void {
    if (this.#errors.length < this.#maxErrorsKept) this.#errors.push(error)
  }
}
