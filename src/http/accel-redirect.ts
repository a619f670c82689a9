import type { FastifyReply, FastifyRequest } from 'fastify'
import type { TtsResult } from '../core/tts-service.js'
import { WAV_CONTENT_TYPE } from './audio-response.js'
import { etagFor } from './conditional-request.js'

/**
 * The request header the nginx front (deploy/nginx/) sets on GET|HEAD /v1/tts, and only there:
 * a client talking to the service directly (FreeSWITCH beside the front, a health check) never
 * gets an empty body, whatever TTS_HTTP_ACCEL_REDIRECT says; nor does the front's own fallback
 * for a file that vanished between the lookup and its open (it clears the header).
 */
export const ACCEL_REQUEST_HEADER = 'x-tts-accel'

/** `<k[0..2]>/<k[2..4]>/<key>.wav`: the WAV's path under the cache directory (store/disk/layout.ts). */
export function cacheRelativeWavPath(key: string): string {
  return `${key.slice(0, 2)}/${key.slice(2, 4)}/${key}.wav`
}

/**
 * Hands a /v1/tts hit to the front: `X-Accel-Redirect: <prefix><k[0..2]>/<k[2..4]>/<key>.wav`, no
 * body, and the headers the front keeps (ETag, X-TTS-Cache, Content-Type; it adds Cache-Control,
 * Accept-Ranges and Content-Length from the file). Only for a hit (a render or a coalesced wait is
 * streamed as without the front), when `prefix` is set (TTS_HTTP_ACCEL_REDIRECT) and the request
 * came through the front. Returns false, having set nothing, otherwise: the caller sends the file
 * itself. Range, If-Range and HEAD are then the front's to answer, on the file it opens; a file it
 * cannot find there (gone since the lookup) it asks for again without the front's header.
 *
 * `lookupSeconds` > 0 adds `X-Accel-Expires: <lookupSeconds>`: the front may keep this answer (the
 * query → key lookup, a pure function of the query while the engine and the settings stay) that
 * long and act on it without asking (TTS_HTTP_ACCEL_LOOKUP_SECONDS; the caller passes 0 when the
 * answer depended on a bearer token). nginx consumes the header; no client sees it.
 */
export function sendAccelRedirect(request: FastifyRequest, reply: FastifyReply, result: TtsResult, prefix: string | undefined, lookupSeconds = 0): boolean {
  if (prefix === undefined || result.status !== 'hit' || request.headers[ACCEL_REQUEST_HEADER] !== '1') return false
  const relative = cacheRelativeWavPath(result.key)
  if (lookupSeconds > 0) reply.header('x-accel-expires', String(lookupSeconds))
  reply
    .header('etag', etagFor(result.key))
    .header('x-tts-cache', result.status)
    .header('content-type', WAV_CONTENT_TYPE)
    .header('x-accel-redirect', `${prefix}${relative}`)
    .send()
  return true
}
