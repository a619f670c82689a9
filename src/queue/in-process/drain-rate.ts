import type { Clock } from '../../core/ports/index.js'

/**
 * Finished renders per second over a sliding window of whole seconds (one counter per second,
 * so memory and cost stay fixed however fast renders finish). Feeds the Retry-After estimate.
 */
export class DrainRateMeter {
  readonly #clock: Clock
  readonly #windowSeconds: number
  readonly #startedAtMs: number
  readonly #counts: number[]
  /** Which epoch second each slot currently counts (-1: none). */
  readonly #slotSecond: number[]

  constructor(clock: Clock, windowSeconds: number) {
    this.#clock = clock
    this.#windowSeconds = Math.max(1, Math.floor(windowSeconds))
    this.#startedAtMs = clock.now()
    this.#counts = new Array<number>(this.#windowSeconds).fill(0)
    this.#slotSecond = new Array<number>(this.#windowSeconds).fill(-1)
  }

  /** Counts one finished render now. */
  record(): void {
    const second = Math.floor(this.#clock.now() / 1000)
    const slot = second % this.#windowSeconds
    if (this.#slotSecond[slot] !== second) {
      this.#slotSecond[slot] = second
      this.#counts[slot] = 0
    }
    this.#counts[slot] = (this.#counts[slot] ?? 0) + 1
  }

  /**
   * Renders finished in the window divided by the window's length; a meter younger than its
   * window divides by its age instead (at least 1 s), so a fresh pool is not under-rated.
   */
  perSecond(): number {
    const nowMs = this.#clock.now()
    const second = Math.floor(nowMs / 1000)
    let total = 0
    for (let slot = 0; slot < this.#windowSeconds; slot++) {
      const counted = this.#slotSecond[slot] ?? -1
      if (counted > second - this.#windowSeconds && counted <= second) total += this.#counts[slot] ?? 0
    }
    const spanSeconds = Math.min(this.#windowSeconds, Math.max(1, (nowMs - this.#startedAtMs) / 1000))
    return total / spanSeconds
  }
}

/** Bounds of the Retry-After estimate, in seconds. */
export const RETRY_AFTER_MIN_SECONDS = 1
export const RETRY_AFTER_MAX_SECONDS = 60

/**
 * Seconds until a job arriving behind `waiting` others would likely start: (waiting + 1) divided
 * by the recent drain rate, rounded up and clamped to 1..60. No completion in the window (a stuck
 * or just-started pool) gives the maximum, 60.
 */
export function estimateRetryAfterSeconds(waiting: number, drainPerSecond: number): number {
  if (!(drainPerSecond > 0)) return RETRY_AFTER_MAX_SECONDS
  const seconds = Math.ceil((waiting + 1) / drainPerSecond)
  return Math.min(RETRY_AFTER_MAX_SECONDS, Math.max(RETRY_AFTER_MIN_SECONDS, seconds))
}
