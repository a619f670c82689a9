/**
 * The app's one pre-warm tracker: POST /v1/prewarm, the CLI's `prewarm` and CUSTOM
 * `tts_cache::prewarm` events all hand their items to it (same validation, one store lookup per
 * item, same priority, bounds and metrics).
 */
import type { Logger, QueueStats, TtsObserver } from '../core/ports/index.js'
import { PrewarmBatches, type PrewarmBatchesOptions } from '../core/prewarm-batches.js'
import type { TtsService } from '../core/tts-service.js'

/** What a `prewarm` factory override is handed. */
export interface PrewarmParts {
  readonly service: TtsService
  readonly queue: { stats(): QueueStats }
  readonly logger: Logger
  readonly observer: TtsObserver
}

/** A tracker, or a factory given the app's parts (a test's tracker with a manual wait, say). */
export type PrewarmOverride = PrewarmBatches | ((parts: PrewarmParts) => PrewarmBatches)

export function buildPrewarm(parts: PrewarmParts, override: PrewarmOverride | undefined, options: PrewarmBatchesOptions | undefined): PrewarmBatches {
  if (override !== undefined) return typeof override === 'function' ? override(parts) : override
  return new PrewarmBatches({ ...parts, logger: parts.logger.child({ component: 'prewarm' }) }, options)
}
