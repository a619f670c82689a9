/**
 * What a serving node uses as its RenderQueue when Redis is configured: the fallback queue
 * (cluster path, local pool when Redis is away) plus, optionally, an in-process worker.
 */
import type { ReadinessCheck, Renderer } from '../core/ports/index.js'
import type { EngineCatalog, Logger, QueueStats, RenderJob, RenderOptions, RenderQueue, RenderedAudio } from '../core/ports/index.js'
import type { AudioTransport } from '../core/ports/index.js'
import { BullMqRenderQueue } from '../queue/bullmq/render-queue.js'
import { FallbackRenderQueue, type BackendCounts } from '../queue/fallback-render-queue.js'
import { clusterSettingsFrom, type ClusterConfig } from './cluster-settings.js'
import { startWorker, type RenderWorkerHandle, type WorkerTuning } from './build-worker.js'
import { sharedAudioTier, type SharedAudioSource } from './shared-audio-tier.js'

export interface CreateClusterQueueOptions {
  readonly config: ClusterConfig
  readonly logger: Logger
  /** This node's in-process pool: the fallback while Redis is away. Closed with the cluster queue. */
  readonly local: RenderQueue
  /** Needed when config.workersInProcess: the in-process worker renders with it. */
  readonly renderer?: Renderer | undefined
  readonly engines?: EngineCatalog | undefined
  /** 'redis' (default) or 'shared-dir' (every node and worker mounts config.cacheDir at the same path). */
  readonly transport?: AudioTransport | undefined
  /** The shared audio tier instead of the one `transport` picks (a test's own tier); the in-process worker gets it too. */
  readonly sharedAudio?: SharedAudioSource | undefined
  readonly workerTuning?: WorkerTuning | undefined
}

export class ClusterQueue implements RenderQueue {
  /** The BullMQ side (counters, availability; tests and metrics). */
  readonly cluster: BullMqRenderQueue
  /** The in-process worker, when config.workersInProcess. */
  readonly worker: RenderWorkerHandle | undefined
  readonly #fallback: FallbackRenderQueue

  constructor(cluster: BullMqRenderQueue, fallback: FallbackRenderQueue, worker: RenderWorkerHandle | undefined) {
    this.cluster = cluster
    this.#fallback = fallback
    this.worker = worker
  }

  render(job: RenderJob, options: RenderOptions): Promise<RenderedAudio> {
    return this.#fallback.render(job, options)
  }

  stats(): QueueStats {
    return this.#fallback.stats()
  }

  promote(key: string): void {
    this.#fallback.promote(key)
  }

  /** For AppContext.readiness(): `ok`, or `degraded` while Redis is away (hits still served). */
  readiness(): ReadinessCheck {
    return this.#fallback.readiness()
  }

  onReadinessChange(listener: (check: ReadinessCheck) => void): () => void {
    return this.#fallback.onReadinessChange(listener)
  }

  backendCounts(): BackendCounts {
    return this.#fallback.backendCounts()
  }

  async close(graceMs?: number): Promise<void> {
    await Promise.all([this.#fallback.close(graceMs), this.worker?.close(graceMs)])
  }
}

/** Builds the cluster queue for `buildApp` when config.redisUrl is set. */
export function createClusterQueue(options: CreateClusterQueueOptions): ClusterQueue {
  const settings = clusterSettingsFrom(options.config, options.transport)
  const logger = options.logger
  const worker = settings.workersInProcess ? startInProcessWorker(options) : undefined
  const cluster = new BullMqRenderQueue({
    redis: settings.redis,
    audioRedis: settings.audioRedis,
    timeouts: settings.timeouts,
    prefix: settings.prefix,
    sharedAudio: options.sharedAudio ?? sharedAudioTier(settings, 'node'),
    // As the in-process pool: `queueLimit` may wait on top of the renders that run.
    limit: settings.queueLimit + settings.workerConcurrency,
    concurrency: worker === undefined ? 0 : settings.workerConcurrency,
    logger,
  })
  const fallback = new FallbackRenderQueue({
    cluster,
    local: options.local,
    mode: settings.fallback,
    fallbackAfterMs: settings.fallbackAfterMs,
    logger,
  })
  return new ClusterQueue(cluster, fallback, worker)
}

function startInProcessWorker(options: CreateClusterQueueOptions): RenderWorkerHandle {
  if (options.renderer === undefined) {
    throw new Error('createClusterQueue: workersInProcess needs a renderer (pass the engine pipeline)')
  }
  return startWorker({
    config: options.config,
    logger: options.logger,
    renderer: options.renderer,
    engines: options.engines,
    transport: options.transport,
    sharedAudio: options.sharedAudio,
    tuning: options.workerTuning,
    name: 'in-process',
  })
}
