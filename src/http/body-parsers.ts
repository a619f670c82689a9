import type { FastifyInstance } from 'fastify'
import { TtsError } from '../core/errors.js'

const strictUtf8 = new TextDecoder('utf-8', { fatal: true })

/** The body as UTF-8 text; a 400 TTS_ERR_TEXT_INVALID when its bytes are not UTF-8 (never U+FFFD). */
export function decodeBody(body: Buffer): string {
  try {
    return strictUtf8.decode(body)
  } catch {
    // The decoder says only that the bytes are not UTF-8: refuse the body rather than guess.
    throw new TtsError('TTS_ERR_TEXT_INVALID', { args: ['the request body is not valid UTF-8'] })
  }
}

/**
 * Replaces Fastify's JSON and text/plain body parsers with strict ones: the bytes must be UTF-8
 * (Fastify's read the body as a string, so invalid bytes became U+FFFD and were cached as such).
 * JSON is then parsed as Fastify does (secure-json-parse; `__proto__` / `constructor.prototype`
 * refused). The charset a client declares is checked before the body is read (request-guards).
 */
export function registerStrictBodyParsers(app: FastifyInstance): void {
  const parseJson = app.getDefaultJsonParser('error', 'error')
  app.removeContentTypeParser(['application/json', 'text/plain'])
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, body, done) => {
    let text: string
    try {
      text = decodeBody(body as Buffer)
    } catch (err) {
      done(err as TtsError, undefined)
      return
    }
    // Fastify's own parser: synchronous, it answers through `done`.
    void parseJson(request, text, done)
  })
  app.addContentTypeParser('text/plain', { parseAs: 'buffer' }, (_request, body, done) => {
    try {
      done(null, decodeBody(body as Buffer))
    } catch (err) {
      done(err as TtsError, undefined)
    }
  })
}
