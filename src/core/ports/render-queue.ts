import type { RenderedAudio, RenderJob } from './renderer.js'

/** Work priority: live calls jump ahead of pre-warm work. */
export type Priority = 'live' | 'prewarm'

export interface RenderOptions {
  readonly priority: Priority
  /** A forced re-render: a backend must not answer from audio it already holds. */
  readonly refresh?: boolean | undefined
  /** Aborts the render (queued or running). */
  readonly signal?: AbortSignal
}

export interface QueueStats {
  /** Jobs waiting for a worker. */
  readonly waiting: number
  /** Jobs rendering now. */
  readonly active: number
  readonly concurrency: number
  readonly limit: number
  /** Recent completions per second (for Retry-After). */
  readonly drainPerSecond: number
}

/**
 * The render-queue port: in-process pool by default, BullMQ when Redis is configured.
 * Rejects with TtsError `TTS_ERR_OVERLOADED` when full, and with the engine's typed error on failure.
 */
export interface RenderQueue {
  render(job: RenderJob, options: RenderOptions): Promise<RenderedAudio>
  stats(): QueueStats
  /** Move a queued pre-warm job for `key` ahead, because a live call now waits for it. Optional. */
  promote?(key: string): void
  /** Stop taking work; wait (bounded) for running renders; free resources. */
  close(graceMs?: number): Promise<void>
}
