import type { Clock } from '../../src/core/ports/index.js'

/** A clock that moves only when the test says so. */
export class FakeClock implements Clock {
  #now: number

  constructor(start = 1_700_000_000_000) {
    this.#now = start
  }

  now(): number {
    return this.#now
  }

  advance(ms: number): void {
    this.#now += ms
  }
}
