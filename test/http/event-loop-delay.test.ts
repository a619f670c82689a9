import { createHistogram } from 'node:perf_hooks'
import { describe, expect, it } from 'vitest'
import { EventLoopDelaySampler } from '../../src/http/event-loop-delay.js'

const ms = 1e6

describe('EventLoopDelaySampler', () => {
  it('reads 0 until an interval has a sample: an empty histogram (mean NaN) is not a delay', () => {
    const histogram = createHistogram()
    const sampler = new EventLoopDelaySampler(histogram, 10)
    expect(Number.isNaN(histogram.mean)).toBe(true)
    sampler.sample()
    expect(sampler.delayMs).toBe(0)
  })

  it("takes each interval's mean beyond the tick, from the delays recorded since the last sample", () => {
    const histogram = createHistogram()
    const sampler = new EventLoopDelaySampler(histogram, 10)
    histogram.record(10 * ms)
    histogram.record(50 * ms)
    sampler.sample()
    expect(sampler.delayMs).toBeCloseTo(20, 1)
    histogram.record(1510 * ms)
    sampler.sample()
    expect(sampler.delayMs).toBeCloseTo(1500, 0)
    histogram.record(10 * ms)
    sampler.sample()
    expect(sampler.delayMs).toBeCloseTo(0, 1)
  })

  it('keeps the previous figure through an interval with no sample (under pressure stays under pressure)', () => {
    const histogram = createHistogram()
    const sampler = new EventLoopDelaySampler(histogram, 10)
    histogram.record(2010 * ms)
    sampler.sample()
    sampler.sample()
    expect(sampler.delayMs).toBeCloseTo(2000, 0)
    histogram.record(12 * ms)
    sampler.sample()
    expect(sampler.delayMs).toBeCloseTo(2, 1)
    sampler.sample()
    expect(sampler.delayMs).toBeCloseTo(2, 1)
  })
})
