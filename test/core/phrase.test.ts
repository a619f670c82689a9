import { describe, expect, it } from 'vitest'
import { isTtsError } from '../../src/core/errors.js'
import { normaliseText, toPhraseRequest, validateVoice } from '../../src/core/phrase.js'

const defaults = { engine: 'espeak-ng', voice: '', sampleRate: 8000, maxTextChars: 2000 }

function codeOf(fn: () => unknown): string {
  try {
    fn()
  } catch (err) {
    if (isTtsError(err)) return err.code
    throw err
  }
  return 'ok'
}

describe('normaliseText', () => {
  it('applies NFC, trims and folds every whitespace run to one space', () => {
    expect(normaliseText('  Cafe\u0301 \t\n au\u00a0\u00a0lait \r\n', 100)).toBe('Caf\u00e9 au lait')
  })

  it.each([
    ['empty', '', 'TTS_ERR_TEXT_EMPTY'],
    ['whitespace only', ' \t\r\n\u00a0 ', 'TTS_ERR_TEXT_EMPTY'],
    ['NUL', 'a\u0000b', 'TTS_ERR_TEXT_INVALID'],
    ['escape', 'a\u001b[31mb', 'TTS_ERR_TEXT_INVALID'],
    ['DEL', 'a\u007fb', 'TTS_ERR_TEXT_INVALID'],
    ['C1 control', 'a\u0090b', 'TTS_ERR_TEXT_INVALID'],
    ['lone high surrogate', 'a\ud800b', 'TTS_ERR_TEXT_INVALID'],
    ['lone low surrogate', 'a\udc00b', 'TTS_ERR_TEXT_INVALID'],
    ['100 KB', 'x'.repeat(100_000), 'TTS_ERR_TEXT_TOO_LONG'],
    ['not a string', 42, 'TTS_ERR_BAD_REQUEST'],
  ])('rejects %s with a typed error', (_name, text, code) => {
    expect(codeOf(() => normaliseText(text, 2000))).toBe(code)
  })

  it.each([
    ['CR/LF folded', 'one\r\ntwo', 'one two'],
    ['leading dash', '-w /etc/passwd', '-w /etc/passwd'],
    ['quotes', `say "hi" 'there'`, `say "hi" 'there'`],
    ['backticks', 'a `reboot` b', 'a `reboot` b'],
    ['command substitution', '$(reboot)', '$(reboot)'],
    ['surrogate pair kept', 'smile \ud83d\ude00', 'smile \ud83d\ude00'],
  ])('keeps %s as plain text', (_name, text, expected) => {
    expect(normaliseText(text, 2000)).toBe(expected)
  })

  it('counts the limit in code points after normalisation', () => {
    expect(normaliseText('\ud83d\ude00'.repeat(5), 5)).toHaveLength(10)
    expect(codeOf(() => normaliseText('\ud83d\ude00'.repeat(6), 5))).toBe('TTS_ERR_TEXT_TOO_LONG')
    expect(normaliseText(`  ${'a'.repeat(5)}     `, 5)).toBe('aaaaa')
  })
})

describe('validateVoice', () => {
  it.each(['en-us', 'en+f3', 'Allison-8kHz', 'mb-en1', 'en_GB.x'])('accepts %s', (voice) => {
    expect(validateVoice(voice)).toBe(voice)
  })

  it.each(['../etc', 'a/../b', '-v', '.hidden', 'a b', 'a\nb', 'x'.repeat(65), 'a/b', 'a;b'])('rejects %j', (voice) => {
    expect(codeOf(() => validateVoice(voice))).toBe('TTS_ERR_INVALID_VOICE')
  })

  it('maps empty to the engine default', () => {
    expect(validateVoice('')).toBe('')
    expect(validateVoice(undefined)).toBe('')
  })
})

describe('toPhraseRequest', () => {
  it('applies defaults and freezes the result', () => {
    const req = toPhraseRequest({ text: ' Hello   World ' }, defaults)
    expect(req).toEqual({ text: 'Hello World', voice: '', engine: 'espeak-ng', sampleRate: 8000, format: 'wav-pcm16-mono' })
    expect(Object.isFrozen(req)).toBe(true)
  })

  it('accepts a rate given as a string (query strings, channel variables)', () => {
    expect(toPhraseRequest({ text: 'x', sampleRate: '16000' }, defaults).sampleRate).toBe(16000)
  })

  it.each([
    [{ text: 'x', sampleRate: 12345 }, 'TTS_ERR_INVALID_RATE'],
    [{ text: 'x', sampleRate: '8000; rm' }, 'TTS_ERR_INVALID_RATE'],
    [{ text: 'x', engine: 'Bad Engine' }, 'TTS_ERR_UNKNOWN_ENGINE'],
    [{ text: 'x', engine: '../bin/sh' }, 'TTS_ERR_UNKNOWN_ENGINE'],
    [{ text: 'x', voice: '../../etc/passwd' }, 'TTS_ERR_INVALID_VOICE'],
  ])('rejects %j', (input, code) => {
    expect(codeOf(() => toPhraseRequest(input, defaults))).toBe(code)
  })
})
