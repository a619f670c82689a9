import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { ERROR_CODES, TtsError, toTtsError } from '../../src/core/errors.js'

describe('error registry', () => {
  it('matches docs/errors.md row for row (code, HTTP status, retryable)', () => {
    const doc = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8')
    const rows = [...doc.matchAll(/^\| `(TTS_ERR_[A-Z_]+)` \| (\d{3}) \| (yes|no) \|/gm)].map((m) => [m[1], Number(m[2]), m[3] === 'yes'])
    const registry = Object.entries(ERROR_CODES).map(([code, def]) => [code, def.status, def.retryable])
    expect(rows).toEqual(registry)
  })

  it('fills the message template and keeps the cause and details', () => {
    const cause = new Error('exit 1')
    const err = new TtsError('TTS_ERR_RENDER_FAILED', { cause, args: ['espeak-ng', 'exit 1'], details: { exitCode: 1 } })
    expect(err.message).toBe('engine espeak-ng failed: exit 1')
    expect(err.cause).toBe(cause)
    expect(err.status).toBe(502)
    expect(err.details).toEqual({ exitCode: 1 })
    expect(JSON.parse(JSON.stringify(err))).toEqual({ code: 'TTS_ERR_RENDER_FAILED', message: err.message })
  })

  it('wraps foreign errors without losing them', () => {
    const cause = new RangeError('bad')
    const err = toTtsError(cause)
    expect(err.code).toBe('TTS_ERR_INTERNAL')
    expect(err.cause).toBe(cause)
    expect(toTtsError(err)).toBe(err)
  })
})
