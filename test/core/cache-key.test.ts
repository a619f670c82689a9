import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { cacheKeyFor, isCacheKey } from '../../src/core/cache-key.js'
import type { PhraseRequest } from '../../src/core/phrase.js'

const base: PhraseRequest = { text: 'Hello World', voice: 'en-us', engine: 'espeak-ng', sampleRate: 8000, format: 'wav-pcm16-mono' }

describe('cacheKeyFor', () => {
  it('is a stable sha256 hex of the canonical encoding', () => {
    const key = cacheKeyFor(base, '1.51')
    expect(isCacheKey(key)).toBe(true)
    expect(cacheKeyFor({ ...base }, '1.51')).toBe(key)
  })

  it.each([
    ['text', { ...base, text: 'Hello world' }, '1.51'],
    ['voice', { ...base, voice: 'en-gb' }, '1.51'],
    ['engine', { ...base, engine: 'flite' }, '1.51'],
    ['sample rate', { ...base, sampleRate: 16000 }, '1.51'],
    ['engine version', base, '1.52'],
  ])('changes when the %s changes', (_name, request, version) => {
    expect(cacheKeyFor(request, version)).not.toBe(cacheKeyFor(base, '1.51'))
  })

  it('cannot be confused by separators moving between fields', () => {
    // A ":"-joined key would make these two collide.
    const a = cacheKeyFor({ ...base, voice: 'a:b', text: 'c' }, 'v')
    const b = cacheKeyFor({ ...base, voice: 'a', text: 'b:c' }, 'v')
    expect(a).not.toBe(b)
  })

  it('maps distinct field tuples to distinct keys (property)', () => {
    const field = fc.string({ maxLength: 6 })
    fc.assert(
      fc.property(field, field, field, field, (v1, t1, v2, t2) => {
        fc.pre(v1 !== v2 || t1 !== t2)
        return cacheKeyFor({ ...base, voice: v1, text: t1 }, 'x') !== cacheKeyFor({ ...base, voice: v2, text: t2 }, 'x')
      }),
    )
  })
})
