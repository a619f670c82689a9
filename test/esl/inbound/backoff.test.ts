import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { backoffCeilingMs, backoffDelayMs, backoffFloorMs, backoffOptions } from '../../../src/esl/inbound/backoff.js'

describe('reconnect back-off', () => {
  const options = backoffOptions({ initialDelayMs: 500, maxDelayMs: 30_000, multiplier: 2, jitterRatio: 0.5 })

  it('doubles from the initial delay up to the cap', () => {
    expect([0, 1, 2, 3, 6, 7, 20, 1000].map((n) => backoffCeilingMs(n, options))).toEqual([500, 1000, 2000, 4000, 30_000, 30_000, 30_000, 30_000])
  })

  it('jitters within [floor, ceiling] and is never zero (no storm)', () => {
    fc.assert(
      fc.property(fc.nat({ max: 100 }), fc.double({ min: 0, max: 1, noNaN: true }), (attempt, r) => {
        const delay = backoffDelayMs(attempt, options, () => r)
        expect(delay).toBeGreaterThanOrEqual(backoffFloorMs(attempt, options))
        expect(delay).toBeLessThanOrEqual(backoffCeilingMs(attempt, options))
        expect(delay).toBeGreaterThan(0)
      }),
    )
  })

  it('refuses settings that would allow a storm', () => {
    expect(() => backoffOptions({ initialDelayMs: 0 })).toThrow(expect.objectContaining({ code: 'TTS_ERR_CONFIG' }))
    expect(() => backoffOptions({ jitterRatio: 1 })).toThrow(expect.objectContaining({ code: 'TTS_ERR_CONFIG' }))
    expect(() => backoffOptions({ initialDelayMs: 1000, maxDelayMs: 10 })).toThrow(expect.objectContaining({ code: 'TTS_ERR_CONFIG' }))
  })
})
