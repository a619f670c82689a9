import { TtsError } from '../../core/errors.js'
import { ESL_DEFAULTS } from '../defaults.js'

export interface BackoffOptions {
  readonly initialDelayMs: number
  readonly maxDelayMs: number
  readonly multiplier: number
  /** 0 = no jitter; 0.5 = "equal jitter" (delay in [cap/2, cap]). Never 1: a zero delay is a storm. */
  readonly jitterRatio: number
}

export const DEFAULT_BACKOFF: BackoffOptions = Object.freeze({
  initialDelayMs: ESL_DEFAULTS.backoffInitialDelayMs,
  maxDelayMs: ESL_DEFAULTS.backoffMaxDelayMs,
  multiplier: ESL_DEFAULTS.backoffMultiplier,
  jitterRatio: ESL_DEFAULTS.backoffJitterRatio,
})

export function backoffOptions(partial: Partial<BackoffOptions> | undefined): BackoffOptions {
  const options = { ...DEFAULT_BACKOFF, ...partial }
  const problems: string[] = []
  if (!(options.initialDelayMs > 0)) problems.push('initialDelayMs must be > 0')
  if (!(options.maxDelayMs >= options.initialDelayMs)) problems.push('maxDelayMs must be ≥ initialDelayMs')
  if (!(options.multiplier >= 1)) problems.push('multiplier must be ≥ 1')
  if (!(options.jitterRatio >= 0 && options.jitterRatio < 1)) problems.push('jitterRatio must be in [0, 1)')
  if (problems.length > 0) throw new TtsError('TTS_ERR_CONFIG', { args: [`esl backoff: ${problems.join('; ')}`] })
  return Object.freeze(options)
}

/** The capped exponential delay before retry number `attempt` (0-based), before jitter. */
export function backoffCeilingMs(attempt: number, options: BackoffOptions): number {
  return Math.min(options.maxDelayMs, options.initialDelayMs * options.multiplier ** Math.max(0, attempt))
}

/** The shortest delay jitter can produce for `attempt`: what bounds the retry rate. */
export function backoffFloorMs(attempt: number, options: BackoffOptions): number {
  return backoffCeilingMs(attempt, options) * (1 - options.jitterRatio)
}

/** Delay before retry number `attempt`; `random()` in [0, 1) picks within [floor, ceiling]. */
export function backoffDelayMs(attempt: number, options: BackoffOptions, random: () => number): number {
  const ceiling = backoffCeilingMs(attempt, options)
  const r = Math.min(Math.max(random(), 0), 1)
  return Math.ceil(ceiling * (1 - options.jitterRatio * r))
}
