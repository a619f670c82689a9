/**
 * The one registry of stable error codes. Each code has an HTTP status, a message
 * template and whether retrying the same request can help. docs/errors.md lists the
 * same table; test/core/errors.test.ts keeps the two in step.
 */
export const ERROR_CODES = {
  TTS_ERR_TEXT_EMPTY: { status: 400, retryable: false, message: 'text is empty after normalisation' },
  TTS_ERR_TEXT_TOO_LONG: { status: 400, retryable: false, message: 'text is longer than %s characters' },
  TTS_ERR_TEXT_INVALID: { status: 400, retryable: false, message: 'text contains a forbidden character: %s' },
  TTS_ERR_INVALID_VOICE: { status: 400, retryable: false, message: 'voice is not valid: %s' },
  TTS_ERR_UNKNOWN_VOICE: { status: 400, retryable: false, message: 'engine %s has no voice %s' },
  TTS_ERR_UNKNOWN_ENGINE: { status: 400, retryable: false, message: 'unknown or disabled engine: %s' },
  TTS_ERR_INVALID_RATE: { status: 400, retryable: false, message: 'sample rate is not supported: %s' },
  TTS_ERR_INVALID_KEY: { status: 400, retryable: false, message: 'not a cache key: %s' },
  TTS_ERR_BAD_REQUEST: { status: 400, retryable: false, message: '%s' },
  TTS_ERR_UNAUTHORIZED: { status: 401, retryable: false, message: 'a valid bearer token is required' },
  TTS_ERR_NOT_FOUND: { status: 404, retryable: false, message: '%s not found' },
  TTS_ERR_PAYLOAD_TOO_LARGE: { status: 413, retryable: false, message: '%s' },
  TTS_ERR_UNSUPPORTED_MEDIA_TYPE: { status: 415, retryable: false, message: 'unsupported content type: %s' },
  TTS_ERR_RANGE_NOT_SATISFIABLE: { status: 416, retryable: false, message: 'range not satisfiable: %s' },
  TTS_ERR_ABORTED: { status: 499, retryable: true, message: 'the request was aborted before the audio was ready' },
  TTS_ERR_INTERNAL: { status: 500, retryable: true, message: 'internal error: %s' },
  TTS_ERR_STORE_IO: { status: 500, retryable: true, message: 'cache store I/O failed: %s' },
  // 507, not 503: a full disk does not clear in the seconds a 503 Retry-After promises (see docs/errors.md).
  TTS_ERR_STORE_FULL: { status: 507, retryable: true, message: 'no space left in the cache directory: %s' },
  TTS_ERR_CONFIG: { status: 500, retryable: false, message: 'invalid configuration: %s' },
  TTS_ERR_CACHE_DIR: { status: 500, retryable: false, message: 'cache directory %s is not writable by this user (%s): set TTS_CACHE_DIR or --cache-dir to a directory it can write, or give it that directory' },
  TTS_ERR_LISTEN: { status: 500, retryable: false, message: 'the %s cannot listen on %s: %s; set %s to a free one' },
  TTS_ERR_RENDER_FAILED: { status: 502, retryable: true, message: 'engine %s failed: %s' },
  TTS_ERR_INVALID_AUDIO: { status: 502, retryable: true, message: 'engine %s produced no valid audio: %s' },
  TTS_ERR_ENGINE_UNAVAILABLE: { status: 503, retryable: true, message: 'engine %s is not available: %s' },
  TTS_ERR_OVERLOADED: { status: 503, retryable: true, message: 'render queue is full (%s waiting)' },
  TTS_ERR_SHUTTING_DOWN: { status: 503, retryable: true, message: 'the service is shutting down' },
  TTS_ERR_QUEUE_UNAVAILABLE: { status: 503, retryable: true, message: 'render queue backend is unavailable: %s' },
  TTS_ERR_UNDER_PRESSURE: { status: 503, retryable: true, message: 'the service is under pressure: %s' },
  TTS_ERR_RENDER_TIMEOUT: { status: 504, retryable: true, message: 'engine %s did not finish within %s ms' },
  TTS_ERR_DEADLINE_EXCEEDED: { status: 504, retryable: true, message: 'audio was not ready within %s ms' },
  TTS_ERR_ESL_TIMEOUT: { status: 504, retryable: true, message: 'event socket command timed out: %s' },
  TTS_ERR_ESL_CLOSED: { status: 503, retryable: true, message: 'event socket closed: %s' },
  TTS_ERR_ESL_AUTH: { status: 503, retryable: false, message: 'event socket authentication failed' },
  TTS_ERR_ESL_PROTOCOL: { status: 502, retryable: false, message: 'event socket protocol error: %s' },
} as const satisfies Record<string, { status: number; retryable: boolean; message: string }>

export type ErrorCode = keyof typeof ERROR_CODES

export interface TtsErrorOptions {
  /** The error this one wraps (kept, never flattened). */
  cause?: unknown
  /** Arguments for the message template's `%s` slots, in order. */
  args?: readonly (string | number)[]
  /** Structured detail (engine exit code, stderr tail, timedOut…). Never secrets. */
  details?: Readonly<Record<string, unknown>>
  /** Seconds a client should wait before retrying (503 Retry-After). */
  retryAfterSeconds?: number
}

export class TtsError extends Error {
  override readonly name = 'TtsError'
  readonly code: ErrorCode
  readonly status: number
  readonly retryable: boolean
  readonly details: Readonly<Record<string, unknown>>
  readonly retryAfterSeconds: number | undefined

  constructor(code: ErrorCode, options: TtsErrorOptions = {}) {
    const def = ERROR_CODES[code]
    super(formatMessage(def.message, options.args ?? []), options.cause === undefined ? undefined : { cause: options.cause })
    this.code = code
    this.status = def.status
    this.retryable = def.retryable
    this.details = options.details ?? {}
    this.retryAfterSeconds = options.retryAfterSeconds
  }

  toJSON(): { code: ErrorCode; message: string } {
    return { code: this.code, message: this.message }
  }
}

export function isTtsError(err: unknown, code?: ErrorCode): err is TtsError {
  return err instanceof TtsError && (code === undefined || err.code === code)
}

/** Wraps anything thrown into a TtsError, keeping the original as `cause`. */
export function toTtsError(err: unknown, fallback: ErrorCode = 'TTS_ERR_INTERNAL'): TtsError {
  if (err instanceof TtsError) return err
  const text = err instanceof Error ? err.message : String(err)
  return new TtsError(fallback, { cause: err, args: [text, text] })
}

function formatMessage(template: string, args: readonly (string | number)[]): string {
  let i = 0
  return template.replace(/%s/g, () => {
    const value = args[i++]
    return value === undefined ? '?' : String(value)
  })
}
