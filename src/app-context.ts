import type { Logger as PinoLogger } from 'pino'
import type { Config } from './config/schema.js'
import type { AudioStore, RenderQueue } from './core/ports.js'
import type { TtsService } from './core/tts-service.js'

/** One readiness check: the composition root runs them for `/readyz` and `doctor`. */
export interface ReadinessCheck {
  readonly ok: boolean
  /** `degraded` is ready but impaired (e.g. Redis down, falling back to the local pool). */
  readonly state?: 'ok' | 'degraded' | 'failed'
  readonly detail?: string
}

export interface ReadinessReport {
  readonly ok: boolean
  readonly checks: Readonly<Record<string, ReadinessCheck>>
}

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
