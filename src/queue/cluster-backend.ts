/**
 * What the fallback render queue (fallback-render-queue.ts) needs from the cluster backend it
 * wraps: availability with its cause, and render hooks. BullMqRenderQueue (bullmq/) implements it.
 */
import type { RenderedAudio, RenderJob, RenderOptions, RenderQueue } from '../core/ports/index.js'

/** Why the cluster path is unavailable: the connection is down, or it is up and Redis does not answer. */
export type UnavailableCause = 'connection' | 'unresponsive'

/**
 * RenderOptions plus the hooks the fallback queue uses. `refresh` should come from the core
 * (a forced re-render must not be answered from the published audio).
 */
export interface ClusterRenderOptions extends RenderOptions {
  readonly refresh?: boolean | undefined
  /** Called once Redis took the job (or the audio was found published). */
  readonly onAccepted?: (() => void) | undefined
  /** Asked right before `job.outPath` is written; `false`: another backend owns the file now. */
  readonly claimOutput?: (() => boolean) | undefined
}

/** The cluster side as the fallback sees it. */
export interface ClusterBackend extends RenderQueue {
  readonly available: boolean
  /** Why it is not available: connection down, or connected and not answering. */
  readonly unavailableCause?: UnavailableCause | undefined
  onAvailabilityChange(listener: (available: boolean, cause: UnavailableCause | undefined) => void): () => void
  render(job: RenderJob, options: ClusterRenderOptions): Promise<RenderedAudio>
}

/** One signal that aborts when any of the given ones does (undefined entries are skipped). */
export function anySignal(signals: readonly (AbortSignal | undefined)[]): AbortSignal {
  const present = signals.filter((s): s is AbortSignal => s !== undefined)
  return AbortSignal.any(present)
}

/**
 * Waits for the backend's first connection: `connected` resolves true when it comes, false
 * `afterMs` later or at `end()` (a close). The timer does not keep the process alive.
 */
export function firstConnection(cluster: ClusterBackend, afterMs: number): { readonly connected: Promise<boolean>; readonly end: () => void } {
  let end = (): void => undefined
  const connected = new Promise<boolean>((resolve) => {
    const done = (value: boolean): void => {
      clearTimeout(timer)
      unsubscribe()
      resolve(value)
    }
    const timer = setTimeout(() => done(false), afterMs)
    timer.unref()
    const unsubscribe = cluster.onAvailabilityChange((available) => {
      if (available) done(true)
    })
    end = () => done(false)
  })
  return { connected, end }
}
