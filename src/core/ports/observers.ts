/**
 * Observer ports the core and the adapters report to. They carry no prom-client types, so the
 * service, the render pool and the HTTP server depend on them without depending on the metrics
 * implementation (src/observability/metrics.ts implements them). The ESL adapter declares its own
 * observer port (EslObserver in src/esl/ports.ts); Metrics implements it too.
 *
 * Contract for every method: cheap, synchronous, never throws (an implementation that fails
 * must swallow and log, not break a call); every method is optional. Label values must come from
 * small fixed sets (engine ids, error codes, statuses) — never caller text, keys or ids.
 */
import type { ErrorCode } from '../errors.js'

/** How a request was answered. */
export type ResultStatus = 'hit' | 'rendered' | 'coalesced'

/** Who asked (a metrics label). */
export type RequestSource = 'http' | 'esl' | 'cli' | 'prewarm'

/** Reported by the TtsService once per request. */
export interface TtsObserver {
  result?(source: RequestSource, status: ResultStatus, seconds: number): void
  failure?(source: RequestSource, code: ErrorCode): void
  /** A waiter joined an in-flight render. */
  coalesced?(source: RequestSource): void
}

/**
 * Reported by the render pool (in-process queue) once per render and per dequeued job. A hook
 * that throws is logged and ignored by the pool.
 */
export interface RenderPoolObserver {
  /**
   * A render finished (ok or not). `seconds` is the engine's run time (not the queue wait);
   * `code` is the TtsError code when `ok` is false (e.g. TTS_ERR_RENDER_TIMEOUT).
   */
  renderFinished?(engine: string, seconds: number, ok: boolean, code?: string): void
  /** A job left the queue for a worker after waiting `seconds` (0 when it started at once). */
  queueWait?(seconds: number): void
}

/** Reported by the HTTP server (src/http) once per response. */
export interface HttpObserver {
  /** `route` is the route template (`/v1/cache/:key`), or `unmatched` for 404s. */
  requestFinished?(method: string, route: string, statusCode: number, seconds: number): void
  /** An error response the TtsService did not already count (auth, validation, 404, pressure…). */
  errorResponse?(code: string): void
}

/** Observers that do nothing: the default when metrics are not wired. */
export const noopRenderPoolObserver: Required<RenderPoolObserver> = Object.freeze({
  renderFinished: () => undefined,
  queueWait: () => undefined,
})

export const noopHttpObserver: Required<HttpObserver> = Object.freeze({
  requestFinished: () => undefined,
  errorResponse: () => undefined,
})
