import { describe, expect, it } from 'vitest'
import type { Clock } from '../../../src/core/ports/index.js'
import { DrainRateMeter, estimateRetryAfterSeconds } from '../../../src/queue/in-process/drain-rate.js'

class FakeClock implements Clock {
  constructor(public ms: number) {}
  now(): number {
    return this.ms
  }
}

describe('DrainRateMeter', () => {
  it('counts completions over the window, divided by the window once it is full', () => {
    const clock = new FakeClock(5_000_000)
    const meter = new DrainRateMeter(clock, 10)
    clock.ms += 60_000
    for (let i = 0; i < 20; i++) meter.record()
    expect(meter.perSecond()).toBe(2)
    clock.ms += 5_000
    expect(meter.perSecond()).toBe(2)
    // Past the window, old completions no longer count.
    clock.ms += 6_000
    expect(meter.perSecond()).toBe(0)
  })

  it('divides by its age while younger than the window (at least 1 s)', () => {
    const clock = new FakeClock(1_000_000)
    const meter = new DrainRateMeter(clock, 30)
    meter.record()
    meter.record()
    expect(meter.perSecond()).toBe(2)
    clock.ms += 4_000
    expect(meter.perSecond()).toBe(0.5)
  })
})

describe('estimateRetryAfterSeconds', () => {
  it('is the time to drain the jobs ahead plus this one, clamped to 1..60 s', () => {
    expect(estimateRetryAfterSeconds(9, 2)).toBe(5)
    expect(estimateRetryAfterSeconds(0, 100)).toBe(1)
    expect(estimateRetryAfterSeconds(1000, 1)).toBe(60)
  })

  it('is 60 s when nothing finished recently (a stuck or fresh pool)', () => {
    expect(estimateRetryAfterSeconds(3, 0)).toBe(60)
  })
})
