/**
 * The worker side of the cluster path: takes render jobs from BullMQ, renders with the local
 * engine pipeline into a temp file, checks the WAV, then publishes it in one step (one Redis
 * MULTI, or one rename in the shared directory). A worker killed mid-job publishes nothing; its
 * job's lock lapses and the stalled-job check hands it to another worker.
 */
import { randomBytes } from 'node:crypto'
import { mkdtemp, readFile, rm, unlink } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { Worker, type Job } from 'bullmq'
import { isCanonicalWav, parseWavHeader, WAV_HEADER_PROBE_BYTES } from '../../audio/wav.js'
import { cacheKeyFor } from '../../core/cache-key.js'
import { TtsError, toTtsError } from '../../core/errors.js'
import type { EngineCatalog, Logger, Renderer, SharedAudio } from '../../core/ports/index.js'
import { anySignal } from '../cluster-backend.js'
import { encodeFailure, parseJobData, RENDER_QUEUE_NAME, type RenderJobData, type RenderJobResult } from './job-codec.js'
import { resolveSharedAudio, type SharedAudioSource } from './shared-audio-source.js'
import { createRedisClient, DEFAULT_REDIS_TIMEOUTS, isConnectionError, quitRedisClient, redisErrorForLog, type RedisClient, type RedisTimeouts } from '../../redis/redis-connections.js'
import { queuePrefixFor, singleRedis, type RedisTarget } from '../../redis/redis-target.js'

/** BullMQ's own defaults, kept here so docs and tests name them. */
export const WORKER_DEFAULTS = Object.freeze({
  /** A job whose worker stops renewing its lock for this long is considered stalled. */
  lockDurationMs: 30_000,
  /** How often each worker looks for stalled jobs (and moves them back to wait). */
  stalledIntervalMs: 30_000,
  /** A job may stall this often and still be retried; one more stall fails it. */
  maxStalledCount: 1,
  /** Bound on the graceful part of close(); then connections are dropped and locks lapse. */
  closeGraceMs: 10_000,
} as const)

export interface BullMqRenderWorkerOptions {
  /** The queue Redis (any topology). Or `redisUrl` for a single server. */
  readonly redis?: RedisTarget | undefined
  readonly redisUrl?: string | undefined
  /** Where finished audio is published; defaults to the queue Redis. Or `audioRedisUrl` for a single server. */
  readonly audioRedis?: RedisTarget | undefined
  readonly audioRedisUrl?: string | undefined
  /** Command timeout of the audio writes, connect timeout of every connection. */
  readonly timeouts?: RedisTimeouts | undefined
  /** Key namespace (config redisPrefix); hash-tagged on a Redis Cluster as the node does. */
  readonly prefix: string
  /** Where finished audio is published (the root picks the tier; the Redis tier is built over this worker's audio connection). */
  readonly sharedAudio: SharedAudioSource
  /** Jobs this worker renders at once. */
  readonly concurrency: number
  readonly renderer: Renderer
  readonly logger: Logger
  /** Temp directory for renders (the Redis tier stages there). Default: a fresh one under the OS temp dir. */
  readonly workDir?: string | undefined
  /** When given, a job whose engine version differs from this worker's is refused (not rendered wrongly). */
  readonly engines?: EngineCatalog | undefined
  readonly lockDurationMs?: number | undefined
  readonly stalledIntervalMs?: number | undefined
  readonly maxStalledCount?: number | undefined
  /** Shows in BullMQ's worker list and in job records. */
  readonly name?: string | undefined
}

export interface RenderWorkerCounters {
  /** Engine runs started. */
  readonly renders: number
  /** Jobs answered from already published audio (no engine run). */
  readonly reused: number
  readonly published: number
  readonly failed: number
}

export class BullMqRenderWorker {
  readonly #options: BullMqRenderWorkerOptions
  readonly #log: Logger
  readonly #client: RedisClient
  readonly #audioClient: RedisClient
  readonly #shared: SharedAudio
  readonly #worker: Worker<RenderJobData, RenderJobResult>
  readonly #renders = new AbortController()
  readonly #workDir: Promise<string>
  readonly #ownsWorkDir: boolean
  #counters = { renders: 0, reused: 0, published: 0, failed: 0 }
  #closed: Promise<void> | undefined

  constructor(options: BullMqRenderWorkerOptions) {
    this.#options = options
    this.#log = options.logger.child({ component: 'render-worker' })
    this.#ownsWorkDir = options.workDir === undefined
    this.#workDir = options.workDir === undefined ? mkdtemp(path.join(tmpdir(), 'tts-cache-worker-')) : Promise.resolve(options.workDir)
    this.#workDir.catch((err: unknown) => this.#log.error({ err }, 'cannot create the worker temp dir'))
    const timeouts = options.timeouts ?? DEFAULT_REDIS_TIMEOUTS
    const target = options.redis ?? (options.redisUrl === undefined ? undefined : singleRedis(options.redisUrl))
    if (target === undefined) throw new TtsError('TTS_ERR_CONFIG', { args: ['the render worker needs a Redis (redis or redisUrl)'] })
    const audioTarget = options.audioRedis ?? (options.audioRedisUrl === undefined ? target : singleRedis(options.audioRedisUrl))
    // Workers wait through outages (maxRetriesPerRequest: null), as BullMQ requires.
    this.#client = createRedisClient(target, 'blocking', 'worker', this.#log, timeouts)
    this.#audioClient = createRedisClient(audioTarget, 'publisher', 'worker-audio', this.#log, timeouts)
    const workDir = this.#workDir
    this.#shared = resolveSharedAudio(options.sharedAudio, { client: this.#audioClient, logger: this.#log, stagingDir: () => workDir })
    this.#worker = new Worker<RenderJobData, RenderJobResult>(RENDER_QUEUE_NAME, (job, _token, signal) => this.#process(job, signal), {
      connection: this.#client,
      prefix: queuePrefixFor(target, options.prefix),
      concurrency: Math.max(1, options.concurrency),
      lockDuration: options.lockDurationMs ?? WORKER_DEFAULTS.lockDurationMs,
      stalledInterval: options.stalledIntervalMs ?? WORKER_DEFAULTS.stalledIntervalMs,
      maxStalledCount: options.maxStalledCount ?? WORKER_DEFAULTS.maxStalledCount,
      ...(options.name === undefined ? {} : { name: options.name }),
    })
    this.#worker.on('error', (err: unknown) => {
      if (isConnectionError(err)) this.#log.debug({ err: redisErrorForLog(err) }, 'worker lost redis')
      else this.#log.warn({ err: redisErrorForLog(err) }, 'worker error')
    })
    this.#worker.on('failed', (job, err) => this.#log.warn({ jobId: job?.id, err: redisErrorForLog(err) }, 'render job failed'))
    this.#worker.on('stalled', (jobId) => this.#log.warn({ jobId }, 'render job stalled (its worker died?); retrying it'))
  }

  /** Resolves once the worker is connected and taking jobs. */
  async whenReady(): Promise<void> {
    await this.#worker.waitUntilReady()
  }

  counters(): RenderWorkerCounters {
    return { ...this.#counters }
  }

  /**
   * Finish running jobs (at most `graceMs`), then drop the connections. Jobs still running then
   * are abandoned, not failed: their locks lapse and another worker takes them.
   */
  close(graceMs: number = WORKER_DEFAULTS.closeGraceMs): Promise<void> {
    this.#closed ??= this.#close(graceMs)
    return this.#closed
  }

  async #close(graceMs: number): Promise<void> {
    const closing = this.#worker.close()
    let timer: NodeJS.Timeout | undefined
    const finished = await Promise.race([
      closing.then(() => true, (err: unknown) => {
        this.#log.warn({ err: redisErrorForLog(err) }, 'worker close failed')
        return true
      }),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), graceMs)
        timer.unref()
      }),
    ])
    clearTimeout(timer)
    if (!finished) {
      this.#log.warn({ graceMs }, 'renders still running at shutdown; abandoning them to other workers')
      // Drop the connections first so the aborted renders cannot be recorded as failures.
      this.#client.disconnect()
      this.#audioClient.disconnect()
      this.#renders.abort(new TtsError('TTS_ERR_SHUTTING_DOWN'))
    }
    await Promise.all([quitRedisClient(this.#client, this.#log), quitRedisClient(this.#audioClient, this.#log)])
    if (this.#ownsWorkDir) {
      const dir = await this.#workDir.catch(() => undefined)
      if (dir !== undefined) await rm(dir, { recursive: true, force: true }).catch((err: unknown) => this.#log.debug({ err }, 'could not remove the worker temp dir'))
    }
  }

  async #process(job: Job<RenderJobData, RenderJobResult>, signal: AbortSignal | undefined): Promise<RenderJobResult> {
    const log = this.#log.child({ jobId: job.id })
    try {
      const data = parseJobData(job.data)
      this.#checkJob(data)
      if (!data.refresh) {
        const published = await this.#shared.fetch(data.key)
        if (published !== undefined) {
          this.#counters.reused++
          log.debug({ key: data.key }, 'audio already published; not rendering again')
          return { bytes: published.wav.byteLength, durationMs: published.durationMs, transport: this.#shared.transport, reused: true }
        }
      }
      const result = await this.#renderAndPublish(data, anySignal([signal, this.#renders.signal]), log)
      log.debug({ key: data.key, bytes: result.bytes, node: data.node }, 'render published')
      return result
    } catch (err) {
      this.#counters.failed++
      // The message is the failedReason every waiting node decodes back into the same TtsError.
      throw new Error(encodeFailure(err), { cause: err })
    }
  }

  /** Refuse jobs this worker would render wrongly: a key that does not match its request, another engine version. */
  #checkJob(data: RenderJobData): void {
    if (cacheKeyFor(data.request, data.engineVersion) !== data.key) {
      throw new TtsError('TTS_ERR_BAD_REQUEST', { args: ['render job key does not match its request'] })
    }
    const engines = this.#options.engines
    if (engines === undefined) return
    const mine = engines.versionOf(data.request.engine)
    if (mine !== data.engineVersion) {
      // QUEUE_UNAVAILABLE: the asking node falls back to its own engine (e.g. mid rolling upgrade).
      throw new TtsError('TTS_ERR_QUEUE_UNAVAILABLE', {
        args: [`no worker with ${data.request.engine} ${data.engineVersion} (this worker has ${mine})`],
      })
    }
  }

  async #renderAndPublish(data: RenderJobData, signal: AbortSignal, log: Logger): Promise<RenderJobResult> {
    const unique = `${process.pid}-${randomBytes(6).toString('hex')}`
    const tempPath = await this.#shared.stagingPath(data.key, data.sharedOutPath, unique)
    try {
      this.#counters.renders++
      await this.#options.renderer({ key: data.key, request: data.request, engineVersion: data.engineVersion, outPath: tempPath }, signal)
      const wav = await readFile(tempPath)
      const parsed = parseWavHeader(wav.subarray(0, WAV_HEADER_PROBE_BYTES), wav.byteLength)
      if (!parsed.ok || !isCanonicalWav(parsed.info, data.request.sampleRate)) {
        const reason = parsed.ok ? `not PCM16 mono at ${data.request.sampleRate} Hz` : parsed.reason
        throw new TtsError('TTS_ERR_INVALID_AUDIO', { args: [data.request.engine, reason] })
      }
      const durationMs = parsed.info.durationMs
      if (signal.aborted) throw toTtsError(signal.reason, 'TTS_ERR_ABORTED')
      await this.#shared.publish(data.key, { path: tempPath, wav, durationMs }, data.sharedOutPath)
      this.#counters.published++
      return { bytes: wav.byteLength, durationMs, transport: this.#shared.transport, reused: false }
    } finally {
      await unlink(tempPath).catch((err: unknown) => {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') log.debug({ err }, 'could not remove a worker temp file')
      })
    }
  }
}
