import type { Scheduler } from '../../../src/esl/connection/scheduler.js'

interface Timer {
  readonly at: number
  readonly seq: number
  readonly callback: () => void
  cancelled: boolean
}

/**
 * A scheduler whose time only moves when the test says so. Nothing fires by itself, so tests
 * count attempts against a back-off schedule instead of measuring wall time.
 */
export class ManualScheduler implements Scheduler {
  #now = 0
  #seq = 0
  #timers: Timer[] = []

  now(): number {
    return this.#now
  }

  schedule(delayMs: number, callback: () => void): () => void {
    const timer: Timer = { at: this.#now + Math.max(0, delayMs), seq: this.#seq++, callback, cancelled: false }
    this.#timers.push(timer)
    return () => {
      timer.cancelled = true
    }
  }

  /** Timers not yet fired or cancelled. */
  get pending(): number {
    return this.#timers.filter((t) => !t.cancelled).length
  }

  /** Delay to the next live timer, or undefined. */
  nextDelay(): number | undefined {
    const next = this.#live()[0]
    return next === undefined ? undefined : next.at - this.#now
  }

  /** Moves time forward, firing every timer that falls due, in order. */
  advance(ms: number): void {
    const target = this.#now + ms
    for (;;) {
      const next = this.#live()[0]
      if (next === undefined || next.at > target) break
      this.#now = next.at
      next.cancelled = true
      next.callback()
    }
    this.#now = target
    this.#timers = this.#timers.filter((t) => !t.cancelled)
  }

  #live(): Timer[] {
    return this.#timers.filter((t) => !t.cancelled).sort((a, b) => a.at - b.at || a.seq - b.seq)
  }
}
