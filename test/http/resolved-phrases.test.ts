import { describe, expect, it } from 'vitest'
import { TtsError } from '../../src/core/errors.js'
import type { PhraseInput } from '../../src/core/phrase.js'
import type { ResolvedPhrase, TtsService } from '../../src/core/tts-service.js'
import { rawQueryOf, ResolvedPhrases } from '../../src/http/resolved-phrases.js'

/** The two methods ResolvedPhrases uses, counting resolves; `current` decides isCurrent. */
function stubService(): { service: TtsService; resolves: string[]; current: { value: boolean } } {
  const resolves: string[] = []
  const current = { value: true }
  const service = {
    resolve(input: PhraseInput): ResolvedPhrase {
      resolves.push(input.text)
      if (input.text === 'bad') throw new TtsError('TTS_ERR_TEXT_EMPTY')
      return { key: `key-of-${input.text}`, engineVersion: '1', request: { text: input.text, voice: '', engine: 'espeak-ng', sampleRate: 8000, format: 'wav' } } as unknown as ResolvedPhrase
    },
    isCurrent: () => current.value,
  } as unknown as TtsService
  return { service, resolves, current }
}

describe('ResolvedPhrases', () => {
  it('resolves a query string once, then answers it from memory', () => {
    const { service, resolves } = stubService()
    const phrases = new ResolvedPhrases(service)
    expect(phrases.resolve('text=a', { text: 'a' })?.key).toBe('key-of-a')
    expect(phrases.resolve('text=a', { text: 'a' })?.key).toBe('key-of-a')
    expect(phrases.resolve('text=b', { text: 'b' })?.key).toBe('key-of-b')
    expect(resolves).toEqual(['a', 'b'])
  })

  it('resolves again when the service says a kept phrase is no longer current', () => {
    const { service, resolves, current } = stubService()
    const phrases = new ResolvedPhrases(service)
    phrases.resolve('text=a', { text: 'a' })
    current.value = false
    phrases.resolve('text=a', { text: 'a' })
    expect(resolves).toEqual(['a', 'a'])
  })

  it('keeps no failure: an input that does not resolve answers undefined each time', () => {
    const { service, resolves } = stubService()
    const phrases = new ResolvedPhrases(service)
    expect(phrases.resolve('text=bad', { text: 'bad' })).toBeUndefined()
    expect(phrases.resolve('text=bad', { text: 'bad' })).toBeUndefined()
    expect([resolves, phrases.size]).toEqual([['bad', 'bad'], 0])
  })

  it('is bounded in characters, and never keeps a query string over the limit', () => {
    const { service } = stubService()
    const phrases = new ResolvedPhrases(service, { maxChars: 3 * (256 + 10), maxQueryChars: 50 })
    for (let i = 0; i < 10; i++) phrases.resolve(`text=q${i}`, { text: `q${i}` })
    expect(phrases.size).toBe(3)
    const long = 'x'.repeat(60)
    phrases.resolve(`text=${long}`, { text: long })
    expect(phrases.size).toBe(3)
  })
})

describe('rawQueryOf', () => {
  it('is what follows the first "?", without a fragment', () => {
    expect(rawQueryOf('/v1/tts?text=a&voice=b')).toBe('text=a&voice=b')
    expect(rawQueryOf('/v1/tts?text=a?b#frag')).toBe('text=a?b')
    expect(rawQueryOf('/v1/tts')).toBe('')
  })
})
