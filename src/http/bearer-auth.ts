import { createHash, timingSafeEqual } from 'node:crypto'
import type { TtsError } from '../core/errors.js'
import { httpError } from './http-errors.js'

const BEARER = /^Bearer[ \t]+(\S+)[ \t]*$/i

function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest()
}

/**
 * Checks `Authorization: Bearer <token>` against the configured secret. The comparison is
 * constant-time over sha256 digests (equal lengths whatever the input), so neither the
 * token's content nor its length leaks through timing. The secret itself is never kept,
 * only its digest, and nothing here logs.
 */
export class BearerAuth {
  readonly #expected: Buffer | undefined

  /** `token` undefined or empty: no token configured, every protected request is refused. */
  constructor(token: string | undefined) {
    this.#expected = token === undefined || token === '' ? undefined : digest(token)
  }

  get configured(): boolean {
    return this.#expected !== undefined
  }

  /** The error to answer with, or undefined when the header carries the right token. */
  verify(authorization: string | undefined): TtsError | undefined {
    if (this.#expected === undefined) {
      return httpError(
        'TTS_ERR_UNAUTHORIZED',
        'this request needs a bearer token, but the server has no token configured (set TTS_API_TOKEN)',
      )
    }
    if (authorization === undefined || authorization === '') {
      return httpError('TTS_ERR_UNAUTHORIZED', 'a bearer token is required: send "Authorization: Bearer <TTS_API_TOKEN>"')
    }
    const match = BEARER.exec(authorization)
    const given = match?.[1]
    if (given === undefined) {
      return httpError('TTS_ERR_UNAUTHORIZED', 'the Authorization header must use the Bearer scheme')
    }
    if (!timingSafeEqual(digest(given), this.#expected)) {
      return httpError('TTS_ERR_UNAUTHORIZED', 'the bearer token is not valid')
    }
    return undefined
  }
}
