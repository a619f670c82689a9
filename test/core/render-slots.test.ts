import { describe, expect, it } from 'vitest'
import { renderSlotsFor } from '../../src/core/defaults.js'

describe('renderSlotsFor', () => {
  it('0 means two renders per core (a render mostly waits on processes and fsyncs)', () => {
    expect(renderSlotsFor(0, 2)).toBe(4)
    expect(renderSlotsFor(0, 8)).toBe(16)
    expect(renderSlotsFor(0, 0)).toBe(2)
  })

  it('a configured count is taken as it is', () => {
    expect(renderSlotsFor(1, 8)).toBe(1)
    expect(renderSlotsFor(3, 2)).toBe(3)
  })
})
