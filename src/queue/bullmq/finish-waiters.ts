/**
 * Wakes the nodes waiting for a render job, event-driven: one QueueEvents stream reader per node
 * dispatches `completed`/`failed`/`removed` by job id to the local waiters. No polling.
 */
import type { QueueEvents } from 'bullmq'
import { parseJobResult, type RenderJobResult } from './job-codec.js'

export type JobOutcome =
  | { readonly kind: 'completed'; readonly result: RenderJobResult | undefined }
  | { readonly kind: 'failed'; readonly failedReason: string }
  /** Look at the job again: it was removed, or the events stream may have lost events (reconnect). */
  | { readonly kind: 'recheck'; readonly reason: string }

/** A subscription to the outcomes of one job id; outcomes that arrive between `next()` calls are kept. */
export interface JobWaiter {
  next(): Promise<JobOutcome>
  dispose(): void
}

class Subscription implements JobWaiter {
  readonly #buffer: JobOutcome[] = []
  #resolve: ((outcome: JobOutcome) => void) | undefined
  readonly #onDispose: (sub: Subscription) => void

  constructor(onDispose: (sub: Subscription) => void) {
    this.#onDispose = onDispose
  }

  push(outcome: JobOutcome): void {
    const resolve = this.#resolve
    if (resolve !== undefined) {
      this.#resolve = undefined
      resolve(outcome)
    } else {
      this.#buffer.push(outcome)
    }
  }

  next(): Promise<JobOutcome> {
    const buffered = this.#buffer.shift()
    if (buffered !== undefined) return Promise.resolve(buffered)
    return new Promise<JobOutcome>((resolve) => {
      this.#resolve = resolve
    })
  }

  dispose(): void {
    this.#resolve = undefined
    this.#onDispose(this)
  }
}

export class JobFinishWaiters {
  readonly #byJobId = new Map<string, Set<Subscription>>()
  /** Ids of jobs we wait for that a worker has started (for stats). */
  readonly #active = new Set<string>()
  #onCompleted: ((jobId: string) => void) | undefined

  /** Attaches the listeners; the caller starts and closes `events`. */
  constructor(events: QueueEvents) {
    events.on('completed', ({ jobId, returnvalue }) => {
      this.#onCompleted?.(jobId)
      this.#dispatch(jobId, { kind: 'completed', result: parseJobResult(returnvalue) })
    })
    events.on('failed', ({ jobId, failedReason }) => {
      this.#dispatch(jobId, { kind: 'failed', failedReason })
    })
    events.on('removed', ({ jobId }) => {
      this.#dispatch(jobId, { kind: 'recheck', reason: 'job removed' })
    })
    events.on('active', ({ jobId }) => {
      if (this.#byJobId.has(jobId)) this.#active.add(jobId)
    })
  }

  /** Called on every completion seen (this node's or not): feeds the drain-rate meter. */
  onCompleted(listener: (jobId: string) => void): void {
    this.#onCompleted = listener
  }

  /** Subscribe before adding the job, so no outcome can slip between the add and the wait. */
  register(jobId: string): JobWaiter {
    let subs = this.#byJobId.get(jobId)
    if (subs === undefined) {
      subs = new Set()
      this.#byJobId.set(jobId, subs)
    }
    const sub = new Subscription((s) => {
      const set = this.#byJobId.get(jobId)
      if (set === undefined) return
      set.delete(s)
      if (set.size === 0) {
        this.#byJobId.delete(jobId)
        this.#active.delete(jobId)
      }
    })
    subs.add(sub)
    return sub
  }

  /** Every waiter looks at its job again (after a reconnect: events may have been lost). */
  recheckAll(reason: string): void {
    for (const subs of this.#byJobId.values()) for (const sub of subs) sub.push({ kind: 'recheck', reason })
  }

  get waitingJobs(): number {
    return this.#byJobId.size
  }

  get activeJobs(): number {
    return this.#active.size
  }

  #dispatch(jobId: string, outcome: JobOutcome): void {
    if (outcome.kind !== 'recheck') this.#active.delete(jobId)
    const subs = this.#byJobId.get(jobId)
    if (subs === undefined) return
    for (const sub of subs) sub.push(outcome)
  }
}
