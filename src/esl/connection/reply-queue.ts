import type { TtsError } from '../../core/errors.js'
import type { EslCommand } from '../codec/command.js'
import type { EslFrame } from '../codec/frame.js'
import type { Scheduler } from './scheduler.js'

export type ReplyOutcome = { readonly ok: true; readonly frame: EslFrame } | { readonly ok: false; readonly error: TtsError }

/** A command written to the socket and still waiting for its reply. */
export interface PendingReply {
  readonly command: EslCommand
  readonly timeoutMs: number
  /** Called once, with the reply or the reason there is none. */
  readonly settle: (outcome: ReplyOutcome) => void
}

/**
 * The commands of one connection waiting for their replies, in the order they were written
 * (ESL replies carry no id), and the reply deadline of the head.
 *
 * One timer per queue, not one per command: it is armed when the queue stops being empty and
 * cancelled when it empties again. When the head changes while it runs, only the head's due
 * time moves; the timer, when it fires early, re-arms itself for the rest. When the head's
 * reply is overdue it is taken off the queue and handed to `onTimeout` (which closes the
 * connection: a late reply could otherwise be taken for the next command's).
 */
export class ReplyQueue {
  readonly #scheduler: Scheduler
  readonly #onTimeout: (head: PendingReply) => void
  readonly #queue: PendingReply[] = []
  #drained = false
  #cancelTimer: (() => void) | undefined
  #timerFiresAt = 0
  #headDueAt = 0

  constructor(scheduler: Scheduler, onTimeout: (head: PendingReply) => void) {
    this.#scheduler = scheduler
    this.#onTimeout = onTimeout
  }

  get length(): number {
    return this.#queue.length
  }

  /** Queues one command; its reply deadline starts now if it is the head. */
  add(pending: PendingReply): void {
    this.#queue.push(pending)
    if (this.#queue.length === 1) this.headChanged()
  }

  /** Queues commands written in one go; the first one's deadline starts now if it is the head. */
  addAll(pendings: readonly PendingReply[]): void {
    for (const pending of pendings) this.#queue.push(pending)
    if (this.#queue.length === pendings.length) this.headChanged()
  }

  /** Takes the head off for a reply that arrived; call `headChanged()` once it is settled. */
  takeHead(): PendingReply | undefined {
    return this.#queue.shift()
  }

  /** Empties the queue for good (the connection closed) and stops the timer. */
  drain(): PendingReply[] {
    this.#drained = true
    this.#stopTimer()
    return this.#queue.splice(0)
  }

  /** The head of the queue changed (or became the first): its reply is due `timeoutMs` from now. */
  headChanged(): void {
    const head = this.#queue[0]
    if (head === undefined) {
      this.#stopTimer()
      return
    }
    this.#headDueAt = this.#scheduler.now() + head.timeoutMs
    if (this.#cancelTimer !== undefined && this.#timerFiresAt <= this.#headDueAt) return
    // No timer, or one that would fire too late (a head with a shorter timeout): start afresh.
    this.#cancelTimer?.()
    this.#startTimer(head.timeoutMs)
  }

  #stopTimer(): void {
    this.#cancelTimer?.()
    this.#cancelTimer = undefined
  }

  #startTimer(delayMs: number): void {
    this.#timerFiresAt = this.#scheduler.now() + delayMs
    this.#cancelTimer = this.#scheduler.schedule(delayMs, () => {
      this.#cancelTimer = undefined
      const head = this.#queue[0]
      if (head === undefined || this.#drained) return
      const early = this.#headDueAt - this.#scheduler.now()
      if (early > 0) {
        this.#startTimer(early)
        return
      }
      this.#queue.shift()
      this.#onTimeout(head)
    })
  }
}
