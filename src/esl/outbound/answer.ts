import type { ErrorCode } from '../../core/errors.js'
import type { Logger } from '../../core/ports/index.js'
import type { TtsResult } from '../../core/tts-service.js'
import type { EslCallOutcome, EslCallStatus } from '../ports.js'
import type { ChannelVariable } from './deliver-variables.js'

/** What the hook tells the channel: a status, and the key and the file when known. */
export interface Answer {
  readonly status: EslCallStatus
  readonly key: string | undefined
  /** Absent on `timeout` and `error`: tts_file keeps the fallback the macro preset. */
  readonly path: string | undefined
  readonly code: ErrorCode | undefined
}

/** An absolute path with no control characters: the only kind we write into tts_file. */
const SAFE_PATH = /^\/[^\u0000-\u001f\u007f]*$/

/** The service's answer, unless its path cannot be written to the channel (then `error`). */
export function answerOf(result: TtsResult, log: Logger): Answer {
  if (!SAFE_PATH.test(result.path)) {
    log.error({ key: result.key }, 'store returned a path that cannot be written to the channel')
    return { status: 'error', key: result.key, path: undefined, code: 'TTS_ERR_INTERNAL' }
  }
  return { status: result.status, key: result.key, path: result.path, code: undefined }
}

/** A call answered without audio: `timeout` when the deadline passed, `error` otherwise. */
export function failedAnswer(code: ErrorCode, key?: string): Answer {
  return { status: code === 'TTS_ERR_DEADLINE_EXCEEDED' ? 'timeout' : 'error', key, path: undefined, code }
}

/** A call that ended without an answer from the service (the channel went away, bad data, a bug). */
export function errorAnswer(code: ErrorCode): Answer {
  return { status: 'error', key: undefined, path: undefined, code }
}

/** tts_file (when there is audio), tts_cache_status, tts_cache_key (when known), in that order. */
export function channelVariablesOf(answer: Answer): ChannelVariable[] {
  const variables: ChannelVariable[] = []
  if (answer.path !== undefined) variables.push(['tts_file', answer.path])
  variables.push(['tts_cache_status', answer.status])
  if (answer.key !== undefined) variables.push(['tts_cache_key', answer.key])
  return variables
}

/** What the observer hears about a finished call. */
export function callOutcome(uuid: string | undefined, answer: Answer, delivered: boolean, hungUp: boolean, seconds: number): EslCallOutcome {
  return { uuid, status: answer.status, delivered, hungUp, key: answer.key, path: answer.path, errorCode: answer.code, seconds }
}
