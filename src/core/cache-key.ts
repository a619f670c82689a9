import { createHash } from 'node:crypto'
import type { PhraseRequest } from './phrase.js'

/**
 * Version of the key encoding. Bump it when the encoding or the audio pipeline changes in a
 * way that must not reuse old files (old entries are then simply never hit and age out).
 */
export const CACHE_KEY_VERSION = 1

/** A cache key is 64 lowercase hex characters (sha256). */
export const CACHE_KEY_PATTERN = /^[0-9a-f]{64}$/

export function isCacheKey(value: unknown): value is string {
  return typeof value === 'string' && CACHE_KEY_PATTERN.test(value)
}

/**
 * sha256 over a canonical encoding of every parameter that changes the audio.
 * The encoding is a JSON array in a fixed order: JSON escapes every string, so no
 * field can bleed into the next (unlike a `:`-joined string), and the leading tag
 * versions it. `engineVersion` comes from the engine at start (e.g. `espeak-ng --version`).
 */
export function cacheKeyFor(request: PhraseRequest, engineVersion: string): string {
  const canonical = JSON.stringify([
    'tts-cache-key',
    CACHE_KEY_VERSION,
    request.engine,
    engineVersion,
    request.voice,
    request.sampleRate,
    request.format,
    request.text,
  ])
  return createHash('sha256').update(canonical, 'utf8').digest('hex')
}
