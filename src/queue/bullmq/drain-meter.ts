import type { Clock } from '../../core/ports/index.js'

/** Completions per second over a sliding window (for Retry-After hints). Clock injected for tests. */
export class DrainMeter {
  readonly #clock: Clock
  readonly #windowMs: number
  readonly #stamps: number[] = []

  constructor(clock: Clock, windowMs = 10_000) {
    this.#clock = clock
    this.#windowMs = windowMs
  }

  record(): void {
    this.#stamps.push(this.#clock.now())
    this.#trim()
  }

  perSecond(): number {
    this.#trim()
    return this.#stamps.length / (this.#windowMs / 1000)
  }

  #trim(): void {
    const oldest = this.#clock.now() - this.#windowMs
    while (this.#stamps.length > 0 && (this.#stamps[0] ?? 0) < oldest) this.#stamps.shift()
    // Bound memory under extreme rates: the estimate stays right to within the cap.
    if (this.#stamps.length > 10_000) this.#stamps.splice(0, this.#stamps.length - 10_000)
  }
}
