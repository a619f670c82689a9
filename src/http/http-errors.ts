import { STATUS_CODES } from 'node:http'
import type { Socket } from 'node:net'
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'
import { TtsError, type ErrorCode } from '../core/errors.js'
import type { QueueStats } from '../core/ports/index.js'

/** The body of every error response. `code` is a stable TTS_ERR_* code from src/core/errors.ts. */
export interface ErrorBody {
  readonly code: ErrorCode
  readonly message: string
}

/** A TtsError whose message is written for this HTTP situation (the registry template has no slot for it). */
export function httpError(code: ErrorCode, message: string, options: { retryAfterSeconds?: number; cause?: unknown } = {}): TtsError {
  const error = new TtsError(code, options)
  error.message = message
  return error
}

/** Errors the TtsService has already counted in its metrics (so the HTTP layer does not count them twice). */
const countedByService = new WeakSet<object>()

export function markCountedByService(err: unknown): void {
  if (typeof err === 'object' && err !== null) countedByService.add(err)
}

export function isCountedByService(err: unknown): boolean {
  return typeof err === 'object' && err !== null && countedByService.has(err)
}

/** Runs a TtsService call, marking what it throws as already counted. */
export async function fromService<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call()
  } catch (err) {
    markCountedByService(err)
    throw err
  }
}

function isFastifyError(err: unknown): err is FastifyError {
  return err instanceof Error && typeof (err as Partial<FastifyError>).code === 'string'
}

/** Fastify's validation message, naming the property Ajv's message leaves out (an unknown one). */
function validationMessage(err: FastifyError): string {
  const first = err.validation?.[0]
  const unknown = first?.keyword === 'additionalProperties' ? (first.params as { additionalProperty?: unknown }).additionalProperty : undefined
  return typeof unknown === 'string' ? `${err.message} (${JSON.stringify(unknown.slice(0, 60))})` : err.message
}

/**
 * Maps anything a route, hook or Fastify itself throws to a TtsError of the registry:
 * validation → TTS_ERR_BAD_REQUEST, body too large → TTS_ERR_PAYLOAD_TOO_LARGE, unknown content
 * type → TTS_ERR_UNSUPPORTED_MEDIA_TYPE, any other 4xx → its nearest code, the rest →
 * TTS_ERR_INTERNAL with a message that leaks nothing (the cause is logged, not sent).
 */
export function toHttpError(err: unknown, request?: FastifyRequest): TtsError {
  if (err instanceof TtsError) return err
  if (isFastifyError(err)) {
    if (err.validation !== undefined) return httpError('TTS_ERR_BAD_REQUEST', validationMessage(err), { cause: err })
    switch (err.code) {
      case 'FST_ERR_CTP_BODY_TOO_LARGE':
        return httpError('TTS_ERR_PAYLOAD_TOO_LARGE', 'request body is larger than the limit (TTS_BODY_LIMIT_BYTES)', { cause: err })
      case 'FST_ERR_CTP_INVALID_MEDIA_TYPE': {
        const type = String(request?.headers['content-type'] ?? '(none)').slice(0, 100)
        return new TtsError('TTS_ERR_UNSUPPORTED_MEDIA_TYPE', { args: [type], cause: err })
      }
      case 'FST_ERR_CTP_EMPTY_JSON_BODY':
        return httpError('TTS_ERR_BAD_REQUEST', 'the JSON body is empty', { cause: err })
      case 'FST_ERR_CTP_INVALID_JSON_BODY':
        return httpError('TTS_ERR_BAD_REQUEST', `the body is not valid JSON: ${err.message}`.slice(0, 300), { cause: err })
      case 'FST_ERR_BAD_URL':
        return httpError('TTS_ERR_BAD_REQUEST', 'the URL is not valid (bad percent-encoding?)', { cause: err })
      case 'FST_UNDER_PRESSURE':
        return new TtsError('TTS_ERR_UNDER_PRESSURE', { args: ['try again later'], cause: err })
      default:
        break
    }
  }
  const status = typeof (err as { statusCode?: unknown } | null)?.statusCode === 'number' ? (err as { statusCode: number }).statusCode : 500
  const text = err instanceof Error ? err.message : String(err)
  if (status === 413) return httpError('TTS_ERR_PAYLOAD_TOO_LARGE', text.slice(0, 300), { cause: err })
  if (status === 415) return new TtsError('TTS_ERR_UNSUPPORTED_MEDIA_TYPE', { args: [text.slice(0, 100)], cause: err })
  if (status === 404) return httpError('TTS_ERR_NOT_FOUND', text.slice(0, 300), { cause: err })
  if (status >= 400 && status < 500) return httpError('TTS_ERR_BAD_REQUEST', text.slice(0, 300), { cause: err })
  return httpError('TTS_ERR_INTERNAL', `internal error (request ${request?.id ?? '?'}; details in the server log)`, { cause: err })
}

/**
 * Seconds a client should wait: the error's own estimate (the queue computes one from its
 * drain rate), else an estimate from the queue's current depth and drain rate, 1..60.
 */
export function retryAfterSeconds(error: TtsError, queueStats: (() => QueueStats) | undefined): number {
  if (error.retryAfterSeconds !== undefined && Number.isFinite(error.retryAfterSeconds)) {
    return Math.max(1, Math.ceil(error.retryAfterSeconds))
  }
  try {
    const stats = queueStats?.()
    if (stats !== undefined && stats.drainPerSecond > 0) {
      return Math.min(60, Math.max(1, Math.ceil((stats.waiting + 1) / stats.drainPerSecond)))
    }
  } catch {
    // No stats (queue backend down): fall back to a short default.
    return 5
  }
  return 5
}

/**
 * Sends `{code, message}` with the registry's status. Error responses are never cacheable
 * and never carry the audio headers a route may have set before failing.
 */
export function sendError(reply: FastifyReply, error: TtsError, retryAfter: number | undefined): FastifyReply {
  for (const name of ['etag', 'x-tts-cache', 'accept-ranges', 'content-length', 'content-type']) reply.removeHeader(name)
  // 416 keeps `Content-Range: bytes */size` (RFC 9110 §15.5.17); nothing else may carry one.
  if (error.status !== 416) reply.removeHeader('content-range')
  reply.header('cache-control', 'no-store')
  if (retryAfter !== undefined) reply.header('retry-after', String(retryAfter))
  if (error.code === 'TTS_ERR_UNAUTHORIZED') reply.header('www-authenticate', 'Bearer realm="tts-cache"')
  const body: ErrorBody = { code: error.code, message: error.message }
  return reply.code(error.status).type('application/json; charset=utf-8').send(body)
}

/**
 * Answers requests Node's HTTP parser refused before Fastify saw them (an over-long URL or
 * header block, a raw NUL or CR/LF in the request line…), in the same `{code, message}` shape.
 */
export function clientErrorHandler(this: { log: { debug(obj: object, msg?: string): void } }, err: NodeJS.ErrnoException, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return
  this.log.debug({ err: { code: err.code, message: err.message } }, 'client error')
  let error: TtsError
  if (err.code === 'HPE_HEADER_OVERFLOW') {
    error = httpError(
      'TTS_ERR_PAYLOAD_TOO_LARGE',
      'the request line and headers are too large; send long text with POST /v1/tts (a JSON body)',
    )
  } else if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    error = httpError('TTS_ERR_BAD_REQUEST', 'the request was not received in time')
  } else {
    error = httpError('TTS_ERR_BAD_REQUEST', 'malformed HTTP request (raw control characters or spaces in the URL must be percent-encoded)')
  }
  const body = JSON.stringify({ code: error.code, message: error.message } satisfies ErrorBody)
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${error.status} ${STATUS_CODES[error.status] ?? 'Error'}\r\n` +
        `Content-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
        `Cache-Control: no-store\r\nConnection: close\r\n\r\n${body}`,
    )
  }
  socket.destroy()
}
