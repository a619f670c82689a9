import { randomUUID } from 'node:crypto'
/**
 * The render-queue port on BullMQ: one job per cache key across the cluster, waiters woken by
 * the queue's event stream, audio shared through Redis (or a shared directory).
 *
 * A render: (1) if the audio is already published, copy it (a cluster hit); (2) else subscribe
 * to the job id, add the job (a no-op when another node already added it), look at it once
 * (closes the race with a job that finished before we subscribed, promotes pre-warm work a live
 * call now waits for), and wait for its `completed`/`failed` event; (3) copy the audio to
 * `job.outPath`. The promise resolves only after the bytes are in `job.outPath`.
 */
import { hostname } from 'node:os'
import { Job, Queue, type QueueEvents } from 'bullmq'
import { TtsError } from '../../core/errors.js'
import { abortError } from '../../core/single-flight.js'
import { systemClock, type Clock, type Logger, type QueueStats, type RenderJob, type RenderOptions, type RenderQueue, type RenderedAudio, type SharedAudio, type SharedWav, type AudioTransport } from '../../core/ports/index.js'
import { anySignal, detach, raceSignal } from './abortable.js'
import { DrainMeter } from './drain-meter.js'
import { startEventsReader } from './events-reader.js'
import type { JobFinishWaiters, JobWaiter } from './finish-waiters.js'
import { inspectJob, raiseToLive, removeIfFinished, type WaitResult } from './job-inspect.js'
import { decodeFailure, JOB_PRIORITY, jobIdFor, RENDER_JOB_NAME, RENDER_QUEUE_NAME, type RenderJobData } from './job-codec.js'
import { createRedisClient, DEFAULT_REDIS_TIMEOUTS, isClientReady, newRedisClient, quitRedisClient, type RedisClient, type RedisTimeouts } from '../../redis/redis-connections.js'
import { isCommandTimeout, redisErrorForLog } from '../../redis/redis-errors.js'
import { RedisHealth } from '../../redis/redis-health.js'
import { describeRedisTarget, queuePrefixFor, singleRedis, type RedisTarget } from '../../redis/redis-target.js'
import { createSharedAudio } from '../../store/shared/index.js'

export const BULLMQ_QUEUE_DEFAULTS = Object.freeze({
  /**
   * A render re-adds its job when the job vanished without an outcome we saw (removed, Redis
   * restarted empty) or its audio was evicted before we fetched it; after this many tries it
   * gives up with TTS_ERR_QUEUE_UNAVAILABLE (which the fallback answers with a local render).
   */
  maxRounds: 3,
  /** Bound on closing Redis connections at shutdown (a dead Redis must not hang the exit). */
  closeTimeoutMs: 2000,
} as const)

export interface BullMqRenderQueueOptions {
  /** The queue Redis (any topology). Or `redisUrl` for a single server. */
  readonly redis?: RedisTarget | undefined
  readonly redisUrl?: string | undefined
  /** Where finished audio is shared; defaults to the queue Redis. Or `audioRedisUrl` for a single server. */
  readonly audioRedis?: RedisTarget | undefined
  readonly audioRedisUrl?: string | undefined
  /** Command and connect timeouts (config redisCommandTimeoutMs, redisConnectTimeoutMs). */
  readonly timeouts?: RedisTimeouts | undefined
  /**
   * Key namespace (config redisPrefix): queue keys `<prefix>:render:*` (`{<prefix>}:render:*` on a
   * Redis Cluster: one hash slot), audio `<prefix>:audio:*`.
   */
  readonly prefix: string
  readonly audioTtlSeconds: number
  /** 'redis' (default): bytes travel through Redis. 'shared-dir': workers write into the shared cache dir. */
  readonly transport?: AudioTransport | undefined
  /** Renders this node may wait on at once before TTS_ERR_OVERLOADED (config queueLimit). */
  readonly limit: number
  /** Reported as stats().concurrency: the in-process worker's concurrency, 0 when none. */
  readonly concurrency?: number | undefined
  readonly logger: Logger
  readonly clock?: Clock | undefined
  /** Names this node in job data (logs only). Default `<hostname>:<pid>`. */
  readonly nodeId?: string | undefined
}

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

/** What this node's queue did (tests and metrics). */
export interface ClusterRenderCounters {
  /** render() calls answered with audio. */
  readonly renders: number
  /** …of which the audio was already published (no job). */
  readonly sharedHits: number
  /** Jobs added (or joined: BullMQ dedupes by id). */
  readonly jobsAdded: number
}

/** Why the cluster path is unavailable: the connection is down, or it is up and Redis does not answer. */
export type UnavailableCause = 'connection' | 'unresponsive'

export class BullMqRenderQueue implements RenderQueue {
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
  #events: QueueEvents | undefined
  #waiters: JobFinishWaiters | undefined
  #available = false
  #inFlight = 0
  #counters = { renders: 0, sharedHits: 0, jobsAdded: 0 }
  #closed: Promise<void> | undefined

  constructor(options: BullMqRenderQueueOptions) {
    this.#log = options.logger.child({ component: 'bullmq-queue' })
    this.#limit = options.limit
    this.#concurrency = options.concurrency ?? 0
    this.#nodeId = options.nodeId ?? `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`
    this.#drain = new DrainMeter(options.clock ?? systemClock)
    const timeouts = options.timeouts ?? DEFAULT_REDIS_TIMEOUTS
    const target = resolveTarget(options.redis, options.redisUrl)
    const audioTarget = options.audioRedis ?? (options.audioRedisUrl === undefined ? undefined : singleRedis(options.audioRedisUrl))
    const queuePrefix = queuePrefixFor(target, options.prefix)
    this.#producer = createRedisClient(target, 'producer', 'queue', this.#log, timeouts)
    this.#audioClient = audioTarget === undefined || sameTarget(audioTarget, target) ? this.#producer : createRedisClient(audioTarget, 'producer', 'audio', this.#log, timeouts)
    // QueueEvents blocks on XREAD: BullMQ duplicates this template (it never connects itself).
    this.#eventsTemplate = newRedisClient(target, 'blocking', 'events', timeouts, true)
    this.#shared = createSharedAudio({ transport: options.transport, client: this.#audioClient, prefix: options.prefix, ttlSeconds: options.audioTtlSeconds, logger: this.#log })
    this.#queue = new Queue(RENDER_QUEUE_NAME, {
      connection: this.#producer,
      prefix: queuePrefix,
      defaultJobOptions: {
        // Finished jobs leave at once: an id never stays poisoned by a failure, and a later
        // request for the key finds the published audio (or renders again if it was evicted).
        removeOnComplete: true,
        removeOnFail: true,
        attempts: 1,
      },
    })
    this.#queue.on('error', (err: unknown) => this.#log.debug({ err: redisErrorForLog(err) }, 'queue client error'))
    // A frozen Redis keeps its sockets open: probes tell. On a Redis Cluster the probe reads a key
    // in the queue's hash slot (a PING would go to any node).
    const probeKey = this.#queue.toKey('meta')
    this.#health = new RedisHealth({
      clients: [this.#producer, this.#audioClient],
      probe: (client) => (target.kind === 'cluster' && client === this.#producer ? client.exists(probeKey) : client.ping()),
      timeoutMs: timeouts.commandTimeoutMs,
      intervalMs: Math.max(50, Math.round(timeouts.commandTimeoutMs / 2)),
      logger: this.#log,
    })
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
    const run = this.#renderRounds(job, options, signal)
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

  async #renderRounds(job: RenderJob, options: ClusterRenderOptions, signal: AbortSignal): Promise<RenderedAudio> {
    const jobId = jobIdFor(job.key)
    for (let round = 1; round <= BULLMQ_QUEUE_DEFAULTS.maxRounds; round++) {
      await raceSignal(this.#ready, signal, this.#log, 'queue start')
      const refresh = options.refresh === true && round === 1
      if (!refresh) {
        const published = await raceSignal(this.#shared.findPublished(job.key, job.request.sampleRate), signal, this.#log, 'audio fetch')
        if (published !== undefined) {
          options.onAccepted?.()
          this.#counters.sharedHits++
          return { ...(await this.#materialise(job, published, options, signal)), origin: 'cached' }
        }
      }
      const { outcome, joined } = await this.#enqueueAndWait(jobId, job, options, refresh, signal)
      const origin = joined ? 'joined' : 'rendered'
      if (outcome.kind === 'failed') throw decodeFailure(jobId, outcome.failedReason, job.request.engine)
      if (outcome.kind === 'completed') {
        const delivered = await raceSignal(this.#shared.collect(job.key, job.request.sampleRate, outcome.result), signal, this.#log, 'audio fetch')
        if (delivered?.kind === 'in-place') return { ...delivered.audio, origin }
        if (delivered !== undefined) return { ...(await this.#materialise(job, delivered.wav, options, signal)), origin }
        this.#log.warn({ key: job.key }, 'job completed but its audio is gone (evicted?); rendering again')
        await removeIfFinished(this.#queue, jobId, this.#log)
        continue
      }
      this.#log.info({ key: job.key, reason: outcome.reason, round }, 'render job vanished; adding it again')
    }
    throw unavailable(`the render job for ${job.key} produced no audio after ${BULLMQ_QUEUE_DEFAULTS.maxRounds} tries`)
  }

  /** `joined`: the job under this id had been added by another node (BullMQ dedupes by id). */
  async #enqueueAndWait(jobId: string, job: RenderJob, options: ClusterRenderOptions, refresh: boolean, signal: AbortSignal): Promise<{ outcome: WaitResult; joined: boolean }> {
    const waiters = this.#waiters
    if (waiters === undefined) throw unavailable('queue events are not running')
    // Subscribe first: any outcome of the job we are about to add or join arrives after this.
    const waiter: JobWaiter = waiters.register(jobId)
    try {
      const target = this.#shared.jobTarget(job.outPath)
      const data: RenderJobData = {
        v: 1,
        key: job.key,
        request: job.request,
        engineVersion: job.engineVersion,
        refresh,
        node: this.#nodeId,
        ...(target === undefined ? {} : { sharedOutPath: target }),
      }
      await raceSignal(this.#queue.add(RENDER_JOB_NAME, data, { jobId, priority: JOB_PRIORITY[options.priority] }), signal, this.#log, 'job add')
      // BullMQ's add() of an existing id returns our own data, not the stored job's: the stored
      // job (read by the first inspection) says which node added it. If it already finished and
      // was removed, we cannot tell, and report `rendered`.
      let joined = false
      const seenJob = (stored: RenderJobData): void => {
        joined = stored.node !== this.#nodeId
      }
      this.#counters.jobsAdded++
      options.onAccepted?.()
      let missingMeansVanished = false
      for (;;) {
        const seen = await raceSignal(
          inspectJob(this.#queue, jobId, {
            priority: options.priority,
            missingMeansVanished,
            log: this.#log,
            lockHeld: async (id) => (await this.#producer.exists(`${this.#queue.toKey(id)}:lock`)) === 1,
            onFound: missingMeansVanished ? undefined : seenJob,
          }),
          signal,
          this.#log,
          'job inspect',
        )
        if (seen !== undefined) return { outcome: seen, joined }
        const outcome = await raceSignal(waiter.next(), signal, this.#log, 'job wait')
        if (outcome.kind !== 'recheck') return { outcome, joined }
        missingMeansVanished = true
      }
    } finally {
      waiter.dispose()
    }
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

function resolveTarget(target: RedisTarget | undefined, url: string | undefined): RedisTarget {
  if (target !== undefined) return target
  if (url !== undefined) return singleRedis(url)
  throw new TtsError('TTS_ERR_CONFIG', { args: ['the cluster render queue needs a Redis (redis or redisUrl)'] })
}

function sameTarget(a: RedisTarget, b: RedisTarget): boolean {
  return JSON.stringify(a) === JSON.stringify(b)
}

function unavailable(reason: string, cause?: unknown): TtsError {
  return new TtsError('TTS_ERR_QUEUE_UNAVAILABLE', { args: [reason], ...(cause === undefined ? {} : { cause }) })
}

/** Redis and BullMQ errors (connection lost, offline queue disabled, OOM…) mean the cluster path is unavailable. */
function toQueueError(err: unknown): TtsError {
  if (err instanceof TtsError) return err
  // The cause is kept without the command arguments ioredis attached (an AUTH's is the password).
  return unavailable(err instanceof Error ? err.message : String(err), redisErrorForLog(err))
}

async function settleWithin(promises: readonly Promise<unknown>[], ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined
  await Promise.race([
    Promise.allSettled(promises),
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, ms)
      timer.unref()
    }),
  ])
  clearTimeout(timer)
}
