import type { FastifyReply, FastifyRequest } from 'fastify'
import { TtsError } from '../core/errors.js'
import type { BearerAuth } from './bearer-auth.js'
import { waitedBefore } from './render-waiters.js'
import { httpError } from './http-errors.js'
import { isUtf8Charset, parseMediaType } from './media-type.js'
import { isValidHost } from './public-url.js'
import { invalidQueryParameter } from './query-string.js'

export interface RequestGuardOptions {
  readonly auth: BearerAuth
  /** Require the token on every route whose policy is not `public`. */
  readonly authAllRoutes: boolean
  readonly isClosing: () => boolean
}

function hasBody(request: FastifyRequest): boolean {
  const length = request.headers['content-length']
  return (length !== undefined && length !== '0') || request.headers['transfer-encoding'] !== undefined
}

/**
 * The onRequest checks every request passes before its body is read, in this order:
 * shutting down (503), a Host (or trusted X-Forwarded-Host) that is not `hostname[:port]` (400,
 * RFC 9112 §3.2: it would otherwise end up in the URLs we hand out), an undecodable query string
 * (400), the bearer token per route policy (401), the route's accepted media types and a charset
 * other than UTF-8 (415).
 */
export function requestGuard(options: RequestGuardOptions): (request: FastifyRequest, reply: FastifyReply, done: (err?: Error) => void) => void {
  // Callback style, not async: every request passes here, and a promise per hook is the hit
  // path's garbage and a microtask turn.
  return (request, reply, done) => {
    try {
      checkRequest(options, request, reply)
    } catch (error) {
      done(error as Error)
      return
    }
    done()
  }
}

function checkRequest(options: RequestGuardOptions, request: FastifyRequest, reply: FastifyReply): void {
  reply.header('x-request-id', request.id)
  // A waiter the hit listener accepted before closing began is in flight, not new: it is answered.
  if (options.isClosing() && !waitedBefore(request.raw)) {
    reply.header('connection', 'close')
    throw new TtsError('TTS_ERR_SHUTTING_DOWN', { retryAfterSeconds: 1 })
  }
  const host = request.host
  if (host !== '' && !isValidHost(host)) {
    throw httpError('TTS_ERR_BAD_REQUEST', 'the Host header is not a valid hostname[:port]')
  }
  const undecodable = invalidQueryParameter(request.query)
  if (undecodable !== undefined) {
    throw undecodable === 'text'
      ? new TtsError('TTS_ERR_TEXT_INVALID', { args: ['not valid UTF-8 (percent-encoded bytes that are not UTF-8, e.g. a lone surrogate)'] })
      : httpError('TTS_ERR_BAD_REQUEST', `query parameter ${JSON.stringify(undecodable)} is not valid percent-encoded UTF-8`)
  }
  const policy = request.routeOptions.config.auth
  if (policy === 'token' || (options.authAllRoutes && policy !== 'public')) {
    const error = options.auth.verify(request.headers.authorization)
    if (error !== undefined) throw error
  }
  const accepts = request.routeOptions.config.accepts
  if (accepts !== undefined && hasBody(request)) {
    const media = parseMediaType(request.headers['content-type'])
    if (media === undefined || !accepts.includes(media.type)) {
      throw httpError(
        'TTS_ERR_UNSUPPORTED_MEDIA_TYPE',
        `unsupported content type: ${String(media?.type ?? request.headers['content-type'] ?? '(none)').slice(0, 100)} (this route accepts ${accepts.join(', ')})`,
      )
    }
    if (!isUtf8Charset(media.charset)) {
      throw httpError(
        'TTS_ERR_UNSUPPORTED_MEDIA_TYPE',
        `unsupported charset: ${JSON.stringify(String(media.charset).slice(0, 40))} (send UTF-8: charset=utf-8, or no charset)`,
      )
    }
  }
}
