import type { Logger } from '../core/ports/index.js'
import type { EslObserver } from './ports.js'

type Hook = keyof EslObserver

/**
 * Calls an observer hook, never letting it throw into protocol code (a metrics bug must not
 * hang up a caller). Failures are logged.
 */
export function observe<K extends Hook>(
  observer: EslObserver | undefined,
  logger: Logger,
  hook: K,
  ...args: Parameters<NonNullable<EslObserver[K]>>
): void {
  const fn = observer?.[hook] as ((...a: unknown[]) => void) | undefined
  if (fn === undefined) return
  try {
    fn.apply(observer, args)
  } catch (err) {
    logger.warn({ err, hook }, 'esl observer threw; ignored')
  }
}
