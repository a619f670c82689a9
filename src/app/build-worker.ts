/**
 * `tts-cache worker`: render workers only (no listeners), on this or another machine. `serve`
 * runs the same worker in-process when `workersInProcess` is set.
 */
import type { EngineCatalog, Logger } from '../core/ports/index.js'
import type { AudioTransport } from '../core/ports/index.js'
import type { Renderer } from '../core/ports/index.js'
import { BullMqRenderWorker, type RenderWorkerCounters } from '../queue/bullmq/render-worker.js'
import { clusterSettingsFrom, type ClusterConfig } from './cluster-settings.js'
import { sharedAudioTier, type SharedAudioSource } from './shared-audio-tier.js'

/** Stall handling; BullMQ's defaults (30 s) unless overridden. Tests shorten them. */
export interface WorkerTuning {
  readonly lockDurationMs?: number | undefined
  readonly stalledIntervalMs?: number | undefined
  readonly maxStalledCount?: number | undefined
}

export interface StartWorkerOptions {
  readonly config: ClusterConfig
  readonly logger: Logger
  /** The engine pipeline: renders one job into job.outPath. */
  readonly renderer: Renderer
  /** When given, jobs for another engine version are refused (the asking node renders locally). */
  readonly engines?: EngineCatalog | undefined
  readonly transport?: AudioTransport | undefined
  /** The shared audio tier instead of the one `transport` picks (a test's own tier). */
  readonly sharedAudio?: SharedAudioSource | undefined
  readonly tuning?: WorkerTuning | undefined
  /** Shows in BullMQ's worker list. */
  readonly name?: string | undefined
}

export interface RenderWorkerHandle {
  /** Resolves once connected and taking jobs. */
  whenReady(): Promise<void>
  counters(): RenderWorkerCounters
  /** Finish running jobs within `graceMs`, then leave the rest to other workers. */
  close(graceMs?: number): Promise<void>
}

export function startWorker(options: StartWorkerOptions): RenderWorkerHandle {
  const settings = clusterSettingsFrom(options.config, options.transport)
  const logger = options.logger.child({ component: 'cluster-worker' })
  const worker = new BullMqRenderWorker({
    redis: settings.redis,
    audioRedis: settings.audioRedis,
    timeouts: settings.timeouts,
    prefix: settings.prefix,
    sharedAudio: options.sharedAudio ?? sharedAudioTier(settings, 'worker'),
    concurrency: settings.workerConcurrency,
    renderer: options.renderer,
    // Unbound: the worker binds component render-worker itself (one `component` per line).
    logger: options.logger,
    engines: options.engines,
    lockDurationMs: options.tuning?.lockDurationMs,
    stalledIntervalMs: options.tuning?.stalledIntervalMs,
    maxStalledCount: options.tuning?.maxStalledCount,
    name: options.name,
  })
  logger.info({ concurrency: settings.workerConcurrency, prefix: settings.prefix, transport: settings.transport }, 'render worker started')
  return worker
}
