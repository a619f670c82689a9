import { randomUUID } from 'node:crypto'
import { TtsError, toTtsError } from './errors.js'
import { PrewarmBatch, type PrewarmItemError, type PrewarmProgress, type PrewarmTask } from './prewarm-batch.js'
import { PrewarmFeeder, type PrewarmFeederOptions } from './prewarm-feeder.js'
import type { PhraseListItem as PrewarmItem } from './phrase-list.js'
import { systemClock, type Clock, type Logger, type QueueStats, type TtsObserver } from './ports/index.js'
import type { TtsService } from './tts-service.js'

export type { PrewarmItem }
export type { PrewarmItemError, PrewarmProgress, PrewarmState } from './prewarm-batch.js'

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

export interface PrewarmBatchesDeps {
  /** `resolve` and `lookupKey` at submission (the one store lookup per item), `getWithoutLookup` at hand-over. */
  readonly service: Pick<TtsService, 'resolve' | 'lookupKey' | 'getWithoutLookup'>
  /** Read before each hand-over, to leave room in the queue for live calls. */
  readonly queue: { stats(): QueueStats }
  readonly logger: Logger
  readonly clock?: Clock | undefined
  /** Told about each item's result with source `prewarm` (getWithoutLookup does not report itself). */
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

/** A request nobody polls (a CUSTOM event): what was accepted, and the final progress to come. */
export interface PrewarmRequest {
  readonly accepted: PrewarmAccepted
  readonly finished: Promise<PrewarmProgress>
}

/**
 * The one pre-warm tracker of an app (built by buildApp, used by POST /v1/prewarm, the CLI's
 * `prewarm` and CUSTOM `tts_cache::prewarm` events): validates each submission, looks each item
 * up once (what is cached is counted, not handed over), keeps per-batch progress (bounded:
 * `maxBatches` batches, `maxPendingItems` items waiting) and hands the rest to a PrewarmFeeder,
 * which feeds the TtsService at `prewarm` priority with bounded concurrency and never fills the
 * render queue (see prewarm-feeder.ts). Idempotent: a phrase someone else is rendering is joined
 * (single-flight), never rendered twice.
 */
export class PrewarmBatches {
  readonly #deps: PrewarmBatchesDeps
  readonly #clock: Clock
  readonly #newId: () => string
  readonly #maxBatches: number
  readonly #maxPendingItems: number
  readonly #maxErrorsKept: number
  readonly #feeder: PrewarmFeeder
  /** Kept for progress(); insertion order = age: the first finished batch is the one to forget. */
  readonly #batches = new Map<string, PrewarmBatch>()
  /** Requests (not kept for progress) still running: close() cancels them too. */
  readonly #requests = new Set<PrewarmBatch>()

  constructor(deps: PrewarmBatchesDeps, options: PrewarmBatchesOptions = {}) {
    this.#deps = deps
    this.#clock = deps.clock ?? systemClock
    this.#newId = deps.newId ?? randomUUID
    this.#maxBatches = Math.max(1, options.maxBatches ?? 100)
    this.#maxPendingItems = Math.max(1, options.maxPendingItems ?? 200_000)
    this.#maxErrorsKept = Math.max(0, options.maxErrorsKept ?? 100)
    const { service, queue, logger, clock, observer, wait } = deps
    this.#feeder = new PrewarmFeeder({ service, queue, logger, clock, observer, wait }, options)
  }

  /** Items accepted but not yet handed to the service, across all batches. */
  get pendingItems(): number {
    let pending = 0
    for (const batch of this.#batches.values()) pending += batch.left
    for (const batch of this.#requests) pending += batch.left
    return pending
  }

  /** Items handed to the service and not yet settled. */
  get inFlightItems(): number {
    return this.#feeder.inFlight
  }

  /**
   * Validates every item (invalid ones are listed in `rejected`, the rest go ahead), counts
   * what is cached and starts feeding the rest; progress(id) reports on it. Throws
   * TTS_ERR_SHUTTING_DOWN after close, and TTS_ERR_OVERLOADED when too many batches are
   * running or too many items are pending.
   */
  submit(items: readonly PrewarmItem[]): PrewarmAccepted {
    this.#refuseWhenClosing()
    this.#makeRoomForOneBatch()
    const { batch, accepted } = this.#accept(items, 'info')
    this.#batches.set(batch.id, batch)
    this.#start(batch)
    return accepted
  }

  /**
   * Like submit, for a request nobody will poll (one CUSTOM event): the same validation, lookup,
   * priority, bounds on pending items and metrics, but not kept for progress() nor counted in
   * `maxBatches`, and logged at debug. `finished` resolves with its final progress.
   */
  request(items: readonly PrewarmItem[]): PrewarmRequest {
    this.#refuseWhenClosing()
    const { batch, accepted } = this.#accept(items, 'debug')
    const finished = batch.whenFinished()
    this.#requests.add(batch)
    this.#start(batch)
    return { accepted, finished }
  }

  /** Progress of a batch, or undefined when unknown (never submitted, forgotten, or a request). */
  progress(id: string): PrewarmProgress | undefined {
    return this.#batches.get(id)?.progress()
  }

  /**
   * Hand over nothing more (items not yet handed over are cancelled and count as failed)
   * and wait, at most `graceMs`, for the items in flight. Renders themselves keep going
   * in the TtsService, whose own close bounds them. Idempotent.
   */
  async close(graceMs = 0): Promise<void> {
    if (this.#feeder.closing.aborted) return this.#feeder.close(graceMs)
    const closed = this.#feeder.close(graceMs)
    const now = this.#clock.now()
    for (const batch of [...this.#batches.values(), ...this.#requests]) batch.cancelRest(now)
    await closed
  }

  #refuseWhenClosing(): void {
    if (this.#feeder.closing.aborted) throw new TtsError('TTS_ERR_SHUTTING_DOWN')
  }

  /** Resolves and looks up every item (once each), checks the pending bound and builds the batch. */
  #accept(items: readonly PrewarmItem[], logLevel: 'info' | 'debug'): { batch: PrewarmBatch; accepted: PrewarmAccepted } {
    const { tasks, rejected, cached, pinOnly } = this.#classify(items)
    const pending = this.pendingItems
    if (pending + tasks.length > this.#maxPendingItems) {
      throw new TtsError('TTS_ERR_OVERLOADED', {
        args: [pending],
        retryAfterSeconds: this.#retryAfterSeconds(pending),
        details: { reason: `more than ${this.#maxPendingItems} pre-warm items pending` },
      })
    }
    const { logger } = this.#deps
    const batch = new PrewarmBatch({
      id: this.#newId(),
      total: items.length,
      cached,
      pinOnly,
      createdAt: this.#clock.now(),
      tasks,
      rejected,
      maxErrorsKept: this.#maxErrorsKept,
      onFinished: (b) => {
        this.#requests.delete(b)
        const { total, done, failed, rendered, state } = b.progress()
        logger[logLevel]({ batch: b.id, total, done, failed, rendered, cancelled: state === 'cancelled' }, 'pre-warm batch finished')
      },
    })
    const queued = tasks.length - pinOnly
    logger[logLevel]({ batch: batch.id, total: batch.total, cached, queued, rejected: rejected.length }, 'pre-warm batch accepted')
    return { batch, accepted: { id: batch.id, total: batch.total, cached, queued, rejected } }
  }

  #classify(items: readonly PrewarmItem[]): { tasks: PrewarmTask[]; rejected: PrewarmItemError[]; cached: number; pinOnly: number } {
    const { service } = this.#deps
    const rejected: PrewarmItemError[] = []
    const tasks: PrewarmTask[] = []
    let cached = 0
    let pinOnly = 0
    items.forEach((item, index) => {
      try {
        const resolved = service.resolve(item)
        const pin = item.pin === true
        // The item's one store lookup: a hit is counted here and never handed over, unless a pin is missing.
        const hit = service.lookupKey(resolved.key)
        if (hit !== undefined) cached++
        if (hit !== undefined && (!pin || hit.pinned)) return
        if (hit !== undefined) pinOnly++
        tasks.push({ index, resolved, pin })
      } catch (err) {
        const error = toTtsError(err)
        rejected.push({ index, code: error.code, message: error.message })
      }
    })
    return { tasks, rejected, cached, pinOnly }
  }

  /** Feeds a new batch, unless nothing of it is left to hand over. */
  #start(batch: PrewarmBatch): void {
    if (!batch.finishIfSettled(this.#clock.now())) this.#feeder.add(batch)
  }

  #makeRoomForOneBatch(): void {
    if (this.#batches.size < this.#maxBatches) return
    for (const [id, batch] of this.#batches) {
      if (batch.finishedAt !== undefined) {
        this.#batches.delete(id)
        if (this.#batches.size < this.#maxBatches) return
      }
    }
    const pending = this.pendingItems
    throw new TtsError('TTS_ERR_OVERLOADED', {
      args: [pending],
      retryAfterSeconds: this.#retryAfterSeconds(pending),
      details: { reason: `${this.#batches.size} pre-warm batches are still running` },
    })
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
