/**
 * The render-queue port on BullMQ: one job per cache key across the cluster, waiters woken by
 * the queue's event stream, audio shared through the SharedAudio tier (Redis or a shared
 * directory). Split by lifecycle stage: opening (open-connections.ts), one render
 * (render-rounds.ts: published audio, add or join the job, wait, collect), availability and
 * closing (here). The promise of `render` resolves only after the bytes are in `job.outPath`.
 */
import { randomUUID } from 'node:crypto'
import { hostname } from 'node:os'
import { Job, type Queue, type QueueEvents } from 'bullmq'
import { TtsError } from '../../core/errors.js'
import { abortError } from '../../core/single-flight.js'
import { systemClock, type Logger, type QueueStats, type RenderJob, type RenderedAudio, type SharedAudio, type SharedWav } from '../../core/ports/index.js'
import { isClientReady, quitRedisClient, type RedisClient } from '../../redis/redis-connections.js'
import { isCommandTimeout, redisErrorForLog } from '../../redis/redis-errors.js'
import type { RedisHealth } from '../../redis/redis-health.js'
import { describeRedisTarget } from '../../redis/redis-target.js'
import { anySignal, type ClusterBackend } from '../cluster-backend.js'
import { detach, settleWithin } from './abortable.js'
import { DrainMeter } from './drain-meter.js'
import { startEventsReader } from './events-reader.js'
import type { JobFinishWaiters } from './finish-waiters.js'
import { jobIdFor } from './job-codec.js'
import { raiseToLive } from './job-inspect.js'
import { openQueueConnections } from './open-connections.js'
import { toQueueError, unavailable } from './queue-errors.js'
import { BULLMQ_QUEUE_DEFAULTS, type BullMqRenderQueueOptions, type ClusterRenderCounters, type ClusterRenderOptions, type UnavailableCause } from './queue-options.js'
import { renderRounds, type RoundsHost } from './render-rounds.js'

export { BULLMQ_QUEUE_DEFAULTS, type BullMqRenderQueueOptions, type ClusterRenderCounters, type ClusterRenderOptions, type UnavailableCause }

export class BullMqRenderQueue implements ClusterBackend {
  readonly #log: Logger
  readonly #limit: number
  readonly #concurrency: number
  readonly #nodeId: string
  readonly #producer: RedisClient
  readonly #audioClient: RedisClient
  readonly #eventsTemplate: RedisClient
  readonly #health: RedisHealth
  readonly #shared: SharedAudio
  readonly #queue: Queue
  readonly #drain: DrainMeter
  readonly #shutdown = new AbortController()
  readonly #running = new Set<Promise<unknown>>()
  readonly #availabilityListeners = new Set<(available: boolean, cause: UnavailableCause | undefined) => void>()
  readonly #ready: Promise<void>
  readonly #rounds: RoundsHost
  #events: QueueEvents | undefined
  #waiters: JobFinishWaiters | undefined
  #available = false
  #inFlight = 0
  readonly #counters = { renders: 0, sharedHits: 0, jobsAdded: 0 }
  #closed: Promise<void> | undefined

  constructor(options: BullMqRenderQueueOptions) {
    this.#log = options.logger.child({ component: 'bullmq-queue' })
    this.#limit = options.limit
    this.#concurrency = options.concurrency ?? 0
    this.#nodeId = options.nodeId ?? `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`
    this.#drain = new DrainMeter(options.clock ?? systemClock)
    const opened = openQueueConnections(options, this.#log)
    const { target, audioTarget, queuePrefix } = opened
    this.#producer = opened.producer
    this.#audioClient = opened.audioClient
    this.#eventsTemplate = opened.eventsTemplate
    this.#shared = opened.shared
    this.#queue = opened.queue
    this.#health = opened.health
    this.#health.onChange(() => this.#onConnectionChange())
    for (const client of new Set([this.#producer, this.#audioClient])) {
      client.on('ready', () => this.#onConnectionChange())
      client.on('close', () => this.#onConnectionChange())
      client.on('end', () => this.#onConnectionChange())
    }
    this.#available = this.#computeAvailable()
    this.#health.start()
    this.#ready = startEventsReader({
      producer: this.#producer,
      eventsTemplate: this.#eventsTemplate,
      queue: this.#queue,
      prefix: queuePrefix,
      logger: this.#log,
      shutdown: this.#shutdown.signal,
      closing: () => this.#closed !== undefined,
    }).then(({ events, waiters }) => {
      if (this.#closed !== undefined) {
        // Closed while the reader was starting: #close could not see it, so close it here.
        detach(events.close(), this.#log, 'late queue events close')
        throw new TtsError('TTS_ERR_SHUTTING_DOWN')
      }
      waiters.onCompleted(() => this.#drain.record())
      this.#events = events
      this.#waiters = waiters
    })
    // Renders await #ready (raced with their signal); this handler only keeps a start that
    // never happened (closed first) from being an unhandled rejection.
    this.#ready.catch((err: unknown) => this.#log.debug({ err: redisErrorForLog(err) }, 'queue did not start'))
    this.#rounds = {
      ready: this.#ready,
      queue: this.#queue,
      producer: this.#producer,
      shared: this.#shared,
      waiters: () => this.#waiters,
      nodeId: this.#nodeId,
      log: this.#log,
      counters: this.#counters,
      materialise: (job, audio, renderOptions, signal) => this.#materialise(job, audio, renderOptions, signal),
    }
    this.#log.info(
      { redis: describeRedisTarget(target), audioRedis: describeRedisTarget(audioTarget ?? target), queuePrefix, transport: this.#shared.transport },
      'cluster render queue created',
    )
  }

  /** True while Redis (queue and audio) is connected and answering: renders can go through the cluster. */
  get available(): boolean {
    return this.#available
  }

  /** Why `available` is false (undefined while it is true). */
  get unavailableCause(): UnavailableCause | undefined {
    if (this.#available) return undefined
    return this.#connected() ? 'unresponsive' : 'connection'
  }

  /** The responsiveness probe (tests wait on its events; metrics may read it). */
  get health(): RedisHealth {
    return this.#health
  }

  /**
   * Calls `listener` on every change of `available` (with the cause when it turns false);
   * returns the unsubscribe function.
   */
  onAvailabilityChange(listener: (available: boolean, cause: UnavailableCause | undefined) => void): () => void {
    this.#availabilityListeners.add(listener)
    return () => this.#availabilityListeners.delete(listener)
  }

  /** Resolves once the event stream reader runs (renders wait for it anyway). */
  whenStarted(): Promise<void> {
    return this.#ready
  }

  counters(): ClusterRenderCounters {
    return { ...this.#counters }
  }

  /** The shared audio tier this queue collects finished audio from. */
  get sharedAudio(): SharedAudio {
    return this.#shared
  }

  async render(job: RenderJob, options: ClusterRenderOptions): Promise<RenderedAudio> {
    if (this.#closed !== undefined) throw new TtsError('TTS_ERR_SHUTTING_DOWN')
    if (!this.#available) throw unavailable('redis is not connected')
    if (this.#inFlight >= this.#limit) throw new TtsError('TTS_ERR_OVERLOADED', { args: [this.#inFlight] })
    const signal = anySignal([options.signal, this.#shutdown.signal])
    this.#inFlight++
    const run = renderRounds(this.#rounds, job, options, signal)
    this.#running.add(run)
    try {
      const audio = await run
      this.#counters.renders++
      return audio
    } catch (err) {
      // A command that got no reply: Redis is frozen or partitioned; stop sending work there now.
      if (isCommandTimeout(err)) this.#health.reportTimeout(err)
      throw toQueueError(err)
    } finally {
      this.#inFlight--
      this.#running.delete(run)
    }
  }

  stats(): QueueStats {
    const active = Math.min(this.#waiters?.activeJobs ?? 0, this.#inFlight)
    return {
      waiting: this.#inFlight - active,
      active,
      concurrency: this.#concurrency,
      limit: this.#limit,
      drainPerSecond: this.#drain.perSecond(),
    }
  }

  promote(key: string): void {
    if (!this.#available) return
    const jobId = jobIdFor(key)
    const promoted = Job.fromId(this.#queue, jobId).then((job) => (job === undefined ? undefined : raiseToLive(job, this.#log)))
    detach(promoted, this.#log, 'promote')
  }

  /** Refuse new renders, wait (bounded) for those in flight, then close the Redis connections. */
  close(graceMs = 0): Promise<void> {
    this.#closed ??= this.#close(graceMs)
    return this.#closed
  }

  async #close(graceMs: number): Promise<void> {
    if (this.#running.size > 0) await settleWithin([...this.#running], graceMs)
    this.#health.stop()
    this.#shutdown.abort(new TtsError('TTS_ERR_SHUTTING_DOWN'))
    const closing: Promise<unknown>[] = [this.#queue.close()]
    if (this.#events !== undefined) closing.push(this.#events.close())
    await settleWithin(closing, BULLMQ_QUEUE_DEFAULTS.closeTimeoutMs)
    this.#eventsTemplate.disconnect()
    await Promise.all([...new Set([this.#producer, this.#audioClient])].map((c) => quitRedisClient(c, this.#log)))
  }

  async #materialise(job: RenderJob, audio: SharedWav, options: ClusterRenderOptions, signal: AbortSignal): Promise<RenderedAudio> {
    if (signal.aborted) throw abortError(signal)
    if (options.claimOutput?.() === false) throw new TtsError('TTS_ERR_ABORTED', { details: { reason: 'another backend owns the output' } })
    try {
      return await this.#shared.writeTo(job.outPath, audio)
    } catch (err) {
      throw new TtsError('TTS_ERR_STORE_IO', { cause: err, args: [err instanceof Error ? err.message : String(err)] })
    }
  }

  #connected(): boolean {
    return isClientReady(this.#producer) && isClientReady(this.#audioClient)
  }

  #computeAvailable(): boolean {
    return this.#connected() && this.#health.responsive
  }

  #onConnectionChange(): void {
    // Our own quit at shutdown is not an outage.
    if (this.#closed !== undefined) return
    const available = this.#computeAvailable()
    if (available && !this.#available) {
      // Events may have been lost while we were away (or Redis came back empty), and a job may
      // have lost its worker's lock in a freeze: every waiter looks at its job again.
      this.#waiters?.recheckAll('redis is back')
    }
    if (available === this.#available) return
    this.#available = available
    const cause = this.unavailableCause
    for (const listener of this.#availabilityListeners) {
      try {
        listener(available, cause)
      } catch (err) {
        this.#log.error({ err }, 'availability listener threw')
      }
    }
  }
}
