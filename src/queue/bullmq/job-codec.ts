/**
 * What travels through BullMQ: the job id (derived from the cache key), the job data, the
 * result, and failures encoded so every waiter in the cluster gets the same typed TtsError.
 */
import { isCacheKey } from '../../core/cache-key.js'
import { ERROR_CODES, TtsError, toTtsError, type ErrorCode } from '../../core/errors.js'
import type { PhraseRequest } from '../../core/phrase.js'
import type { AudioTransport, Priority } from '../../core/ports/index.js'

/** The BullMQ queue name under the configured prefix: keys are `<redisPrefix>:render:*`. */
export const RENDER_QUEUE_NAME = 'render'

/** BullMQ job name (one kind of job). */
export const RENDER_JOB_NAME = 'render'

/** BullMQ priorities: lower runs first. Live calls jump ahead of pre-warm work. */
export const JOB_PRIORITY: Readonly<Record<Priority, number>> = Object.freeze({ live: 1, prewarm: 10 })

const JOB_ID_PREFIX = 'tts-'

/**
 * The job id is the cache key, so concurrent adds on any node become one job. BullMQ rejects ids
 * that parse as integers (a sha256 hex may, in theory, be all digits) and ids with `:`; the
 * `tts-` prefix rules out the first and hex keys never contain the second.
 */
export function jobIdFor(key: string): string {
  if (!isCacheKey(key)) throw new TtsError('TTS_ERR_INVALID_KEY', { args: [JSON.stringify(String(key)).slice(0, 80)] })
  return `${JOB_ID_PREFIX}${key}`
}

export function keyOfJobId(jobId: string): string | undefined {
  const key = jobId.startsWith(JOB_ID_PREFIX) ? jobId.slice(JOB_ID_PREFIX.length) : ''
  return isCacheKey(key) ? key : undefined
}

export interface RenderJobData {
  readonly v: 1
  readonly key: string
  readonly request: PhraseRequest
  readonly engineVersion: string
  /** shared-dir transport only: the asking node's slot temp path, on the shared file system. */
  readonly sharedOutPath?: string
  /** A forced re-render: the worker must not answer from an already published entry. */
  readonly refresh: boolean
  /** Who asked (logs only). */
  readonly node: string
}

export interface RenderJobResult {
  readonly bytes: number
  readonly durationMs: number
  readonly transport: AudioTransport
  /** True when the worker found the audio already published and did not render. */
  readonly reused: boolean
}

/** Validates job data read back from Redis (a foreign or older writer must not crash a worker). */
export function parseJobData(data: unknown): RenderJobData {
  const d = data as Partial<RenderJobData> | null
  const request = d?.request as Partial<PhraseRequest> | undefined
  const valid =
    d !== null &&
    typeof d === 'object' &&
    d.v === 1 &&
    isCacheKey(d.key) &&
    typeof d.engineVersion === 'string' &&
    typeof d.refresh === 'boolean' &&
    (d.sharedOutPath === undefined || typeof d.sharedOutPath === 'string') &&
    request !== undefined &&
    typeof request.text === 'string' &&
    typeof request.voice === 'string' &&
    typeof request.engine === 'string' &&
    typeof request.sampleRate === 'number' &&
    typeof request.format === 'string'
  if (!valid) throw new TtsError('TTS_ERR_BAD_REQUEST', { args: ['render job data is not in the expected format (v1)'] })
  return d as RenderJobData
}

export function parseJobResult(value: unknown): RenderJobResult | undefined {
  const parsed: unknown = typeof value === 'string' ? safeJsonParse(value) : value
  const r = parsed as Partial<RenderJobResult> | null | undefined
  if (r === null || r === undefined || typeof r !== 'object') return undefined
  if (typeof r.bytes !== 'number' || typeof r.durationMs !== 'number') return undefined
  return {
    bytes: r.bytes,
    durationMs: r.durationMs,
    transport: r.transport === 'shared-dir' ? 'shared-dir' : 'redis',
    reused: r.reused === true,
  }
}

interface EncodedFailure {
  readonly tts: 1
  readonly code: ErrorCode
  readonly message: string
  readonly details: Readonly<Record<string, unknown>>
  readonly retryAfterSeconds?: number
}

/** The job's failedReason: JSON carrying the stable code, so the waiters rebuild the same error. */
export function encodeFailure(err: unknown): string {
  const error = toTtsError(err, 'TTS_ERR_RENDER_FAILED')
  const encoded: EncodedFailure = {
    tts: 1,
    code: error.code,
    message: error.message,
    details: jsonSafe(error.details),
    ...(error.retryAfterSeconds === undefined ? {} : { retryAfterSeconds: error.retryAfterSeconds }),
  }
  return JSON.stringify(encoded)
}

/** The error a worker failure carries as `cause` on the waiting nodes (the raw failedReason). */
export class RemoteRenderFailure extends Error {
  override readonly name = 'RemoteRenderFailure'
  readonly jobId: string

  constructor(jobId: string, failedReason: string) {
    super(failedReason)
    this.jobId = jobId
  }
}

/**
 * Rebuilds the worker's TtsError from a failedReason: same code, message and details. A reason
 * BullMQ wrote itself (e.g. "job stalled more than allowable limit") becomes TTS_ERR_RENDER_FAILED.
 */
export function decodeFailure(jobId: string, failedReason: string | undefined, engine: string): TtsError {
  const reason = failedReason ?? 'no reason given'
  const cause = new RemoteRenderFailure(jobId, reason)
  const parsed = safeJsonParse(reason) as Partial<EncodedFailure> | undefined
  if (parsed?.tts === 1 && typeof parsed.code === 'string' && parsed.code in ERROR_CODES && typeof parsed.message === 'string') {
    const error = new TtsError(parsed.code, {
      cause,
      details: { ...(parsed.details ?? {}), remote: true },
      ...(typeof parsed.retryAfterSeconds === 'number' ? { retryAfterSeconds: parsed.retryAfterSeconds } : {}),
    })
    // The template's arguments are not sent; the worker's rendered message is, and wins.
    error.message = parsed.message
    return error
  }
  return new TtsError('TTS_ERR_RENDER_FAILED', { cause, args: [engine, reason.slice(0, 500)], details: { remote: true } })
}

function safeJsonParse(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}

function jsonSafe(details: Readonly<Record<string, unknown>>): Readonly<Record<string, unknown>> {
  try {
    return JSON.parse(JSON.stringify(details)) as Record<string, unknown>
  } catch {
    return {}
  }
}
