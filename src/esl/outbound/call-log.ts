import type { Logger } from '../../core/ports/index.js'
import type { EslCallOutcome } from '../ports.js'

/** TTS_ESL_CALL_LOG: the level of the one line per call, or `off`. */
export type EslCallLogLevel = 'info' | 'debug' | 'off'

/**
 * The one line per call that got its CHANNEL_DATA (uuid, status, key, ms), on the server's
 * logger with the uuid as a field: no child logger per call. A call answered `error` (the
 * fallback plays) warns with its code whatever `level` says; a call whose channel was gone
 * before the answer (`callerGone`: its render goes on) and every other call log at `level`.
 * One pino call: at a level pino has off, that is the object literal and a no-op.
 */
export function logCall(logger: Logger, level: EslCallLogLevel, uuid: string | undefined, call: EslCallOutcome, callerGone: boolean): void {
  const { status, key } = call
  const ms = Math.round(call.seconds * 1000)
  if (callerGone) {
    if (level !== 'off') logger[level]({ uuid, status, key, ms, hungUp: true }, 'tts_cache call: caller hung up before the audio was ready; render continues')
  } else if (status === 'error') {
    logger.warn({ uuid, status, key, ms, delivered: call.delivered, code: call.errorCode }, 'tts_cache call answered with the fallback (error)')
  } else if (level !== 'off') {
    logger[level]({ uuid, status, key, ms }, 'tts_cache call')
  }
}
