import type { TtsError } from './errors.js'
import type { RequestSource, TtsObserver } from './ports/index.js'
import type { TtsResult } from './tts-types.js'

/**
 * Counts how a request for a phrase ended, the one way every caller is counted (`TtsService`'s
 * hit and get family, its seats, the pre-warm feeder): its result by status with the time since
 * `started` (performance.now()), or its error by code.
 */
export function countOutcome(observer: TtsObserver | undefined, source: RequestSource, outcome: TtsResult | TtsError, started: number): void {
  if (outcome instanceof Error) observer?.failure?.(source, outcome.code)
  else observer?.result?.(source, outcome.status, (performance.now() - started) / 1000)
}
