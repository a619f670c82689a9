import type { Logger as PinoLogger } from 'pino'
import type { Config } from '../config/schema.js'
import type { AudioStore, ReadinessReport, RenderQueue } from '../core/ports/index.js'
import type { TtsService } from '../core/tts-service.js'


/**
 * Everything the listeners (HTTP, ESL) need, built once by `buildApp` (src/app.ts).
 * Listeners never construct adapters themselves.
 */
export interface AppContext {
  readonly config: Config
  readonly logger: PinoLogger
  readonly service: TtsService
  readonly store: AudioStore
  readonly queue: RenderQueue
  /** Readiness of the cache dir, default engine, Redis and FreeSWITCH ESL (when configured). */
  readiness(): Promise<ReadinessReport>
}
