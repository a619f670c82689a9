/**
 * The render queue a node uses when Redis is configured: the cluster (BullMQ) path while Redis
 * answers, this node's in-process pool (or a fast TTS_ERR_QUEUE_UNAVAILABLE) when it does not.
 * Hits never reach a queue, so they are served from local disk whatever Redis does.
 *
 * Falls back when (1) Redis is not available at the time of the request (not connected, or not
 * answering): at once — except before this node's first connection, when a miss waits up to
 * `fallbackAfterMs` from the start for it (a node asked the moment it starts, while its client
 * is still connecting, would otherwise render a sentence another node may be rendering); (2) Redis does not take the job within `fallbackAfterMs`; (3) the
 * connection drops while the job is pending and does not come back within `fallbackAfterMs`;
 * (4) Redis stops answering while the job is pending (a probe or a command timed out, which
 * already waited the command timeout): at once, even when a worker had taken the job — this node
 * renders the key itself (once: the core's single-flight), and a worker elsewhere may render it
 * too; (5) the cluster path reports TTS_ERR_QUEUE_UNAVAILABLE (a command timed out, the audio
 * vanished, no worker has this engine version). When Redis answers again, new misses take the
 * cluster path again; nothing needs a restart.
 */
import { TtsError, isTtsError } from '../core/errors.js'
import { abortError } from '../core/single-flight.js'
import { systemClock, type Clock, type Logger, type QueueStats, type RenderJob, type RenderOptions, type RenderQueue, type RenderedAudio, type ReadinessCheck } from '../core/ports/index.js'
import { anySignal, firstConnection, type ClusterBackend, type ClusterRenderOptions } from './cluster-backend.js'

export type { ClusterBackend }

export type RedisFallbackMode = 'local' | 'fail'

export interface FallbackRenderQueueOptions {
  readonly cluster: ClusterBackend
  /** The in-process pool. Closed with this queue. */
  readonly local: RenderQueue
  /** config redisFallback: render here ('local') or reject with TTS_ERR_QUEUE_UNAVAILABLE ('fail'). */
  readonly mode: RedisFallbackMode
  /** config redisFallbackAfterMs: grace for Redis to take a job, or to come back mid-wait. */
  readonly fallbackAfterMs: number
  readonly logger: Logger
  readonly clock?: Clock | undefined
}

/** Which backend answered (tests assert on these; metrics may export them). */
export interface BackendCounts {
  readonly cluster: number
  readonly local: number
  readonly failedFast: number
}

export class FallbackRenderQueue implements RenderQueue {
  readonly #cluster: ClusterBackend
  readonly #local: RenderQueue
  readonly #mode: RedisFallbackMode
  readonly #afterMs: number
  readonly #log: Logger
  readonly #clock: Clock
  readonly #counts = { cluster: 0, local: 0, failedFast: 0 }
  #downSince: number | undefined
  #closing = false
  /** Until this node's first connection (or `fallbackAfterMs` after the start): true once connected, false when the wait ran out. */
  #firstConnection: Promise<boolean> | undefined
  #endFirstWait: (() => void) | undefined = undefined

  constructor(options: FallbackRenderQueueOptions) {
    this.#cluster = options.cluster
    this.#local = options.local
    this.#mode = options.mode
    this.#afterMs = options.fallbackAfterMs
    this.#log = options.logger.child({ component: 'fallback-queue' })
    this.#clock = options.clock ?? systemClock
    this.#downSince = this.#cluster.available ? undefined : this.#clock.now()
    if (!this.#cluster.available) {
      const wait = firstConnection(this.#cluster, this.#afterMs)
      this.#firstConnection = wait.connected.finally(() => (this.#firstConnection = undefined))
      this.#endFirstWait = wait.end
    }
    let connectedBefore = this.#cluster.available
    this.#cluster.onAvailabilityChange((available, cause) => {
      if (available) {
        const downMs = this.#downSince === undefined ? 0 : this.#clock.now() - this.#downSince
        if (connectedBefore) this.#log.info({ downMs }, 'redis is back: renders go through the cluster again')
        else this.#log.info({}, 'redis connected: renders go through the cluster')
        connectedBefore = true
        this.#downSince = undefined
      } else {
        this.#downSince = this.#clock.now()
        this.#log.warn({ mode: this.#mode, cause }, this.#mode === 'local' ? 'redis unavailable: misses render on this node' : 'redis unavailable: misses fail fast')
      }
    })
  }

  /** `ok` while Redis is connected; `degraded` (still ready: hits are served) while it is not. */
  readiness(): ReadinessCheck {
    if (this.#cluster.available) return { ok: true, state: 'ok', detail: 'redis connected; renders go through the cluster' }
    const since = this.#downSince === undefined ? '' : ` since ${new Date(this.#downSince).toISOString()}`
    const then = this.#mode === 'local' ? 'misses render on this node' : 'misses fail with TTS_ERR_QUEUE_UNAVAILABLE'
    const what = this.#cluster.unavailableCause === 'unresponsive' ? 'redis not answering (connected, no replies)' : 'redis unavailable'
    return { ok: true, state: 'degraded', detail: `${what}${since}; hits are served from local disk, ${then}` }
  }

  /** Calls `listener` whenever readiness flips between ok and degraded. */
  onReadinessChange(listener: (check: ReadinessCheck) => void): () => void {
    return this.#cluster.onAvailabilityChange(() => listener(this.readiness()))
  }

  backendCounts(): BackendCounts {
    return { ...this.#counts }
  }

  /** `options` may carry ClusterRenderOptions' `refresh` and `onAccepted` (passed through). */
  render(job: RenderJob, options: RenderOptions & { readonly refresh?: boolean | undefined }): Promise<RenderedAudio> {
    if (this.#closing) return Promise.reject(new TtsError('TTS_ERR_SHUTTING_DOWN'))
    if (!this.#cluster.available) {
      const first = this.#firstConnection
      if (first !== undefined) return this.#afterFirstConnection(first, job, options)
      return this.#degraded(job, options, this.#cluster.unavailableCause === 'unresponsive' ? 'redis is not answering' : 'redis is not connected')
    }
    return this.#viaCluster(job, options)
  }

  /** A miss asked before the first connection: decided again (render) once it came or the wait ran out; its signal still aborts it. */
  #afterFirstConnection(first: Promise<boolean>, job: RenderJob, options: RenderOptions): Promise<RenderedAudio> {
    const { signal } = options
    if (signal?.aborted === true) return Promise.reject(abortError(signal))
    return new Promise<RenderedAudio>((resolve, reject) => {
      const onAbort = (): void => reject(abortError(signal!))
      signal?.addEventListener('abort', onAbort, { once: true })
      void first.then(() => {
        signal?.removeEventListener('abort', onAbort)
        if (signal?.aborted === true) return
        this.render(job, options).then(resolve, reject)
      })
    })
  }

  stats(): QueueStats {
    const cluster = this.#cluster.stats()
    const local = this.#local.stats()
    const current = this.#cluster.available ? cluster : local
    return {
      waiting: cluster.waiting + local.waiting,
      active: cluster.active + local.active,
      concurrency: current.concurrency,
      limit: current.limit,
      drainPerSecond: current.drainPerSecond,
    }
  }

  promote(key: string): void {
    this.#cluster.promote?.(key)
    this.#local.promote?.(key)
  }

  async close(graceMs?: number): Promise<void> {
    this.#closing = true
    this.#endFirstWait?.()
    await Promise.all([this.#cluster.close(graceMs), this.#local.close(graceMs)])
  }

  #degraded(job: RenderJob, options: RenderOptions, reason: string): Promise<RenderedAudio> {
    if (this.#mode === 'fail') {
      this.#counts.failedFast++
      return Promise.reject(new TtsError('TTS_ERR_QUEUE_UNAVAILABLE', { args: [reason], retryAfterSeconds: 1 }))
    }
    this.#counts.local++
    this.#log.debug({ key: job.key, reason }, 'rendering on this node')
    return this.#local.render(job, options)
  }

  #viaCluster(job: RenderJob, options: RenderOptions & { readonly refresh?: boolean | undefined }): Promise<RenderedAudio> {
    const attempt = new AbortController()
    // Who writes job.outPath: decided once, synchronously, so the two backends never both do.
    let owner: 'none' | 'cluster' | 'fallback' = 'none'
    return new Promise<RenderedAudio>((resolve, reject) => {
      const fallBack = (reason: string): void => {
        if (owner !== 'none') return
        owner = 'fallback'
        triggers.stop()
        this.#log.warn({ key: job.key, reason }, 'cluster render abandoned')
        attempt.abort(new TtsError('TTS_ERR_QUEUE_UNAVAILABLE', { args: [reason] }))
        this.#degraded(job, options, reason).then(resolve, reject)
      }
      const triggers = this.#fallbackTriggers(fallBack)
      const claimOutput = (): boolean => {
        if (owner === 'fallback') return false
        owner = 'cluster'
        return true
      }
      this.#cluster.render(job, clusterOptionsOf(options, attempt.signal, triggers.accepted, claimOutput)).then(
        (audio) => {
          if (owner === 'fallback') return
          triggers.stop()
          this.#counts.cluster++
          resolve(audio)
        },
        (err: unknown) => {
          if (owner === 'fallback') {
            this.#log.debug({ err, key: job.key }, 'abandoned cluster render ended')
            return
          }
          if (owner === 'none' && isTtsError(err, 'TTS_ERR_QUEUE_UNAVAILABLE') && options.signal?.aborted !== true) {
            fallBack(err.message)
            return
          }
          triggers.stop()
          reject(err)
        },
      )
    })
  }

  /**
   * What makes a pending cluster render fall back (cases 2 to 4 above): Redis not taking the job
   * within `fallbackAfterMs` (`accepted` stops that clock), Redis lost for that long, or Redis not
   * answering. `stop` clears them all.
   */
  #fallbackTriggers(fallBack: (reason: string) => void): { readonly accepted: () => void; readonly stop: () => void } {
    let outageTimer: NodeJS.Timeout | undefined
    const enqueueTimer = setTimeout(() => fallBack(`redis did not take the job within ${this.#afterMs} ms`), this.#afterMs)
    const unsubscribe = this.#cluster.onAvailabilityChange((available, cause) => {
      clearTimeout(outageTimer)
      if (available) return
      // Not answering: the probe (or command) already waited its timeout; a worker holding the
      // job cannot report back through a frozen Redis, so do not wait for it.
      if (cause === 'unresponsive') fallBack('redis stopped answering while waiting')
      else outageTimer = setTimeout(() => fallBack(`redis connection lost for ${this.#afterMs} ms while waiting`), this.#afterMs)
    })
    return {
      accepted: () => clearTimeout(enqueueTimer),
      stop: () => {
        clearTimeout(enqueueTimer)
        clearTimeout(outageTimer)
        unsubscribe()
      },
    }
  }
}

/** The caller's options for the cluster backend: its signal joined with the attempt's, `onAccepted` passed through, and the output claim. */
function clusterOptionsOf(options: RenderOptions, attempt: AbortSignal, accepted: () => void, claimOutput: () => boolean): ClusterRenderOptions {
  return {
    ...options,
    signal: anySignal([options.signal, attempt]),
    onAccepted: () => {
      accepted()
      ;(options as ClusterRenderOptions).onAccepted?.()
    },
    claimOutput,
  }
}
