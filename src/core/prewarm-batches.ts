import { randomUUID } from 'node:crypto'
import { TtsError, toTtsError, type ErrorCode } from './errors.js'
import { PrewarmFeeder, type FeedSource, type PrewarmFeederOptions } from './prewarm-feeder.js'
import type { PrewarmItem } from './prewarm-input.js'
import { systemClock, type Clock, type Logger, type QueueStats, type TtsObserver } from './ports/index.js'
import type { ResolvedPhrase, TtsService } from './tts-service.js'

export type { PrewarmItem }

/** Why one item of a batch was not (or could not be) cached. `index` is its position in the batch. */
export interface PrewarmItemError {
  readonly index: number
  readonly code: ErrorCode
  readonly message: string
}

/** The answer to a submission: what was already cached, what was queued, what was refused. */
export interface PrewarmAccepted {
  readonly id: string
  readonly total: number
  /** Already in the cache: nothing to render (a requested pin is still applied). */
  readonly cached: number
  /** Handed to the render queue, at pre-warm priority. */
  readonly queued: number
  /** Invalid items (empty text, unknown voice…), never rendered. */
  readonly rejected: readonly PrewarmItemError[]
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

export interface PrewarmBatchesDeps {
  readonly service: Pick<TtsService, 'resolve' | 'getResolved' | 'lookupKey'>
  /** Read before each hand-over, to leave room in the queue for live calls. */
  readonly queue: { stats(): QueueStats }
  readonly logger: Logger
  readonly clock?: Clock | undefined
  /** Told about each item's result with source `prewarm` (getResolved does not report itself). */
  readonly observer?: TtsObserver | undefined
  /** Batch ids; default crypto.randomUUID. */
  readonly newId?: (() => string) | undefined
  /** Waits `ms` or until `signal` aborts (then resolves early). Injectable so tests never sleep. */
  readonly wait?: ((ms: number, signal: AbortSignal) => Promise<void>) | undefined
}

export interface PrewarmBatchesOptions extends PrewarmFeederOptions {
  /** Batches kept in memory (running and finished); the oldest finished one is forgotten first. Default 100. */
  readonly maxBatches?: number
  /** Items waiting for hand-over across all batches; a submission beyond it gets TTS_ERR_OVERLOADED. Default 200,000. */
  readonly maxPendingItems?: number
  /** Failures kept per batch for the progress report. Default 100. */
  readonly maxErrorsKept?: number
}

interface Task {
  readonly index: number
  readonly resolved: ResolvedPhrase
  readonly pin: boolean
}

interface Batch {
  readonly id: string
  readonly total: number
  readonly cached: number
  readonly createdAt: number
  finishedAt: number | undefined
  cancelled: boolean
  /** Tasks not yet handed over; `cursor` is the next one. Entries are cleared as they go. */
  tasks: (Task | undefined)[]
  cursor: number
  inFlight: number
  done: number
  failed: number
  rendered: number
  readonly errors: PrewarmItemError[]
}

/**
 * Tracks pre-warm batches: validates and counts each submission, keeps per-batch progress
 * (bounded: `maxBatches` batches, `maxPendingItems` items waiting) and hands the items to a
 * PrewarmFeeder, which feeds the TtsService at `prewarm` priority with bounded concurrency
 * and never fills the render queue (see prewarm-feeder.ts). Idempotent: an item already
 * cached is counted as `cached`; a phrase someone else is rendering is joined (single-flight),
 * never rendered twice.
 */
export class PrewarmBatches {
  readonly #deps: PrewarmBatchesDeps
  readonly #clock: Clock
  readonly #newId: () => string
  readonly #maxBatches: number
  readonly #maxPendingItems: number
  readonly #maxErrorsKept: number
  readonly #feeder: PrewarmFeeder
  /** Insertion order = age: the first finished batch is the one to forget. */
  readonly #batches = new Map<string, Batch>()
  #pending = 0

  constructor(deps: PrewarmBatchesDeps, options: PrewarmBatchesOptions = {}) {
    this.#deps = deps
    this.#clock = deps.clock ?? systemClock
    this.#newId = deps.newId ?? randomUUID
    this.#maxBatches = Math.max(1, options.maxBatches ?? 100)
    this.#maxPendingItems = Math.max(1, options.maxPendingItems ?? 200_000)
    this.#maxErrorsKept = Math.max(0, options.maxErrorsKept ?? 100)
    this.#feeder = new PrewarmFeeder({ queue: deps.queue, logger: deps.logger, wait: deps.wait }, options)
  }

  /** Items accepted but not yet handed to the service, across all batches. */
  get pendingItems(): number {
    return this.#pending
  }

  /** Items handed to the service and not yet settled. */
  get inFlightItems(): number {
    return this.#feeder.inFlight
  }

  /**
   * Validates every item (invalid ones are listed in `rejected`, the rest go ahead), counts
   * what is cached and starts feeding the rest. Throws TTS_ERR_SHUTTING_DOWN after close,
   * and TTS_ERR_OVERLOADED when too many batches are running or too many items are pending.
   */
  submit(items: readonly PrewarmItem[]): PrewarmAccepted {
    if (this.#feeder.closing.aborted) throw new TtsError('TTS_ERR_SHUTTING_DOWN')
    this.#makeRoomForOneBatch()
    const rejected: PrewarmItemError[] = []
    const tasks: Task[] = []
    let cached = 0
    let pinOnly = 0
    items.forEach((item, index) => {
      let resolved: ResolvedPhrase
      try {
        resolved = this.#deps.service.resolve(item)
      } catch (err) {
        const error = toTtsError(err)
        rejected.push({ index, code: error.code, message: error.message })
        return
      }
      const pin = item.pin === true
      const hit = this.#deps.service.lookupKey(resolved.key)
      if (hit !== undefined) {
        cached++
        // Cached already; only a missing pin is left to apply (a hit through the service).
        if (pin && !hit.pinned) {
          pinOnly++
          tasks.push({ index, resolved, pin })
        }
        return
      }
      tasks.push({ index, resolved, pin })
    })
    if (this.#pending + tasks.length > this.#maxPendingItems) {
      throw new TtsError('TTS_ERR_OVERLOADED', {
        args: [this.#pending],
        retryAfterSeconds: this.#retryAfterSeconds(this.#pending),
        details: { reason: `more than ${this.#maxPendingItems} pre-warm items pending` },
      })
    }
    const id = this.#newId()
    const batch: Batch = {
      id,
      total: items.length,
      cached,
      createdAt: this.#clock.now(),
      finishedAt: undefined,
      cancelled: false,
      tasks,
      cursor: 0,
      inFlight: 0,
      done: cached - pinOnly,
      failed: rejected.length,
      rendered: 0,
      errors: rejected.slice(0, this.#maxErrorsKept),
    }
    this.#batches.set(id, batch)
    this.#pending += tasks.length
    this.#deps.logger.info(
      { batch: id, total: batch.total, cached, queued: tasks.length - pinOnly, rejected: rejected.length },
      'pre-warm batch accepted',
    )
    if (!this.#finishIfSettled(batch)) this.#feeder.add(this.#sourceOf(batch))
    return { id, total: batch.total, cached, queued: tasks.length - pinOnly, rejected }
  }

  /** Progress of a batch, or undefined when unknown (never submitted, or forgotten). */
  progress(id: string): PrewarmProgress | undefined {
    const b = this.#batches.get(id)
    if (b === undefined) return undefined
    return {
      id: b.id,
      state: b.finishedAt === undefined ? 'running' : b.cancelled ? 'cancelled' : 'done',
      total: b.total,
      done: b.done,
      failed: b.failed,
      cached: b.cached,
      rendered: b.rendered,
      createdAt: b.createdAt,
      finishedAt: b.finishedAt,
      errors: [...b.errors],
    }
  }

  /**
   * Hand over nothing more (items not yet handed over are cancelled and count as failed)
   * and wait, at most `graceMs`, for the items in flight. Renders themselves keep going
   * in the TtsService, whose own close bounds them.
   */
  async close(graceMs = 0): Promise<void> {
    if (!this.#feeder.closing.aborted) {
      const closed = this.#feeder.close(graceMs)
      for (const batch of this.#batches.values()) {
        const left = batch.tasks.length - batch.cursor
        if (left > 0) {
          batch.cancelled = true
          batch.failed += left
          this.#pending -= left
          this.#recordError(batch, { index: -1, code: 'TTS_ERR_SHUTTING_DOWN', message: `${left} items cancelled: the service is shutting down` })
          batch.tasks = []
          batch.cursor = 0
          this.#finishIfSettled(batch)
        }
      }
      await closed
      return
    }
    await this.#feeder.close(graceMs)
  }

  /** A batch as the feeder sees it: its tasks, in order, each run once. */
  #sourceOf(batch: Batch): FeedSource {
    return {
      hasNext: () => batch.cursor < batch.tasks.length,
      next: () => {
        const task = batch.tasks[batch.cursor]
        batch.tasks[batch.cursor] = undefined
        batch.cursor++
        this.#pending--
        batch.inFlight++
        return async () => {
          try {
            if (task !== undefined) await this.#run(batch, task)
          } finally {
            batch.inFlight--
            this.#finishIfSettled(batch)
          }
        }
      },
    }
  }

  #makeRoomForOneBatch(): void {
    if (this.#batches.size < this.#maxBatches) return
    for (const [id, batch] of this.#batches) {
      if (batch.finishedAt !== undefined) {
        this.#batches.delete(id)
        if (this.#batches.size < this.#maxBatches) return
      }
    }
    throw new TtsError('TTS_ERR_OVERLOADED', {
      args: [this.#pending],
      retryAfterSeconds: this.#retryAfterSeconds(this.#pending),
      details: { reason: `${this.#batches.size} pre-warm batches are still running` },
    })
  }

  /** Never rejects: every outcome is counted on the batch. */
  async #run(batch: Batch, task: Task): Promise<void> {
    const started = performance.now()
    try {
      const result = await this.#feeder.retryWhileOverloaded(() =>
        this.#deps.service.getResolved(task.resolved, { priority: 'prewarm', pin: task.pin, source: 'prewarm', keepAlive: true }),
      )
      batch.done++
      if (result.status === 'rendered') batch.rendered++
      this.#observe(() => this.#deps.observer?.result?.('prewarm', result.status, (performance.now() - started) / 1000))
    } catch (err) {
      const error = toTtsError(err)
      batch.failed++
      this.#recordError(batch, { index: task.index, code: error.code, message: error.message })
      this.#observe(() => this.#deps.observer?.failure?.('prewarm', error.code))
      if (error.status >= 500 && error.code !== 'TTS_ERR_SHUTTING_DOWN') {
        this.#deps.logger.warn({ batch: batch.id, index: task.index, key: task.resolved.key, err: error }, 'pre-warm item failed')
      }
    }
  }

  #observe(report: () => void): void {
    try {
      report()
    } catch (err) {
      this.#deps.logger.warn({ err }, 'pre-warm: observer threw')
    }
  }

  #recordError(batch: Batch, error: PrewarmItemError): void {
    if (batch.errors.length < this.#maxErrorsKept) batch.errors.push(error)
  }

  /** Marks the batch finished when nothing is left to hand over or in flight; true if finished. */
  #finishIfSettled(batch: Batch): boolean {
    if (batch.finishedAt !== undefined) return true
    if (batch.inFlight > 0 || batch.cursor < batch.tasks.length) return false
    batch.finishedAt = this.#clock.now()
    batch.tasks = []
    batch.cursor = 0
    this.#deps.logger.info(
      { batch: batch.id, total: batch.total, done: batch.done, failed: batch.failed, rendered: batch.rendered, cancelled: batch.cancelled },
      'pre-warm batch finished',
    )
    return true
  }

  #retryAfterSeconds(items: number): number {
    let drain = 0
    try {
      drain = this.#deps.queue.stats().drainPerSecond
    } catch {
      // Unknown drain rate: fall back to the bound below.
      drain = 0
    }
    if (!(drain > 0)) return 30
    return Math.min(3600, Math.max(1, Math.ceil(items / drain)))
  }
}
