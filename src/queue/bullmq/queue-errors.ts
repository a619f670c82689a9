/** How the cluster path reports that it cannot serve: TTS_ERR_QUEUE_UNAVAILABLE, which the fallback answers locally. */
import { TtsError } from '../../core/errors.js'
import { redisErrorForLog } from '../../redis/redis-errors.js'

export function unavailable(reason: string, cause?: unknown): TtsError {
  return new TtsError('TTS_ERR_QUEUE_UNAVAILABLE', { args: [reason], ...(cause === undefined ? {} : { cause }) })
}

/** Redis and BullMQ errors (connection lost, offline queue disabled, OOM…) mean the cluster path is unavailable. */
export function toQueueError(err: unknown): TtsError {
  if (err instanceof TtsError) return err
  // The cause is kept without the command arguments ioredis attached (an AUTH's is the password).
  return unavailable(err instanceof Error ? err.message : String(err), redisErrorForLog(err))
}
