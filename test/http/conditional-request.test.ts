import { describe, expect, it } from 'vitest'
import { decideRange, ifNoneMatchMatches, ifRangeAllowsRange } from '../../src/http/conditional-request.js'

const key = 'a'.repeat(64)

describe('conditional requests', () => {
  it('matches If-None-Match weakly against the key: exact, W/, in a list, or *', () => {
    expect(ifNoneMatchMatches(`"${key}"`, key)).toBe(true)
    expect(ifNoneMatchMatches(`W/"${key}"`, key)).toBe(true)
    expect(ifNoneMatchMatches(`"x", "${key}"`, key)).toBe(true)
    expect(ifNoneMatchMatches('*', key)).toBe(true)
    expect(ifNoneMatchMatches(key, key)).toBe(false)
    expect(ifNoneMatchMatches('"b"', key)).toBe(false)
    expect(ifNoneMatchMatches(undefined, key)).toBe(false)
  })

  it('applies a Range only when If-Range is absent or exactly our tag', () => {
    expect(ifRangeAllowsRange(undefined, key)).toBe(true)
    expect(ifRangeAllowsRange(`"${key}"`, key)).toBe(true)
    expect(ifRangeAllowsRange(`W/"${key}"`, key)).toBe(false)
    expect(ifRangeAllowsRange('Wed, 21 Oct 2015 07:28:00 GMT', key)).toBe(false)
  })

  it.each([
    [undefined, 100, { kind: 'full' }],
    ['bytes=0-9', 100, { kind: 'partial', range: { start: 0, end: 9 } }],
    ['bytes=90-', 100, { kind: 'partial', range: { start: 90, end: 99 } }],
    ['bytes=-10', 100, { kind: 'partial', range: { start: 90, end: 99 } }],
    ['bytes=-1000', 100, { kind: 'partial', range: { start: 0, end: 99 } }],
    ['bytes=50-1000', 100, { kind: 'partial', range: { start: 50, end: 99 } }],
    ['bytes = 1 - 2', 100, { kind: 'partial', range: { start: 1, end: 2 } }],
    ['bytes=100-', 100, { kind: 'unsatisfiable' }],
    ['bytes=100-200', 100, { kind: 'unsatisfiable' }],
    ['bytes=-0', 100, { kind: 'unsatisfiable' }],
    ['bytes=0-', 0, { kind: 'unsatisfiable' }],
    ['bytes=5-1', 100, { kind: 'full' }],
    ['bytes=0-1,3-4', 100, { kind: 'full' }],
    ['bytes=-', 100, { kind: 'full' }],
    ['items=0-1', 100, { kind: 'full' }],
    ['bytes=99999999999999999999-', 100, { kind: 'full' }],
  ] as const)('Range %s on %i bytes → %o', (header, size, expected) => {
    expect(decideRange(header, size)).toEqual(expected)
  })
})
