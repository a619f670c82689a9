/**
 * Config → cluster settings. The only place that decides cluster defaults derived from the
 * config (worker concurrency, which Redis holds the audio).
 */
import { availableParallelism } from 'node:os'
import type { Config } from '../config/schema.js'
import { renderSlotsFor } from '../core/defaults.js'
import { TtsError } from '../core/errors.js'
import type { AudioTransport } from '../queue/bullmq-job-codec.js'

/** The config keys the cluster path reads (a subset of Config, so tests can pass just these). */
export type ClusterConfig = Pick<
  Config,
  | 'redisUrl'
  | 'audioRedisUrl'
  | 'redisPrefix'
  | 'redisFallback'
  | 'redisFallbackAfterMs'
  | 'audioTtlSeconds'
  | 'workersInProcess'
  | 'workerConcurrency'
  | 'renderConcurrency'
  | 'queueLimit'
  | 'cacheDir'
>

export interface ClusterSettings {
  readonly redisUrl: string
  /** Defaults to redisUrl. */
  readonly audioRedisUrl: string
  readonly prefix: string
  readonly audioTtlSeconds: number
  readonly fallback: 'local' | 'fail'
  readonly fallbackAfterMs: number
  readonly workersInProcess: boolean
  readonly workerConcurrency: number
  readonly queueLimit: number
  readonly transport: AudioTransport
  /** shared-dir transport: the cache dir every node and worker mounts at the same path. */
  readonly sharedCacheDir: string
}

/**
 * `workerConcurrency` 0 means "as `renderConcurrency`", and that 0 means two per CPU core.
 * Throws TTS_ERR_CONFIG when Redis is not configured (the caller should not be here then).
 */
export function clusterSettingsFrom(config: ClusterConfig, transport: AudioTransport = 'redis'): ClusterSettings {
  const redisUrl = config.redisUrl
  if (redisUrl === undefined) throw new TtsError('TTS_ERR_CONFIG', { args: ['the cluster path needs REDIS_URL'] })
  const concurrency = config.workerConcurrency > 0 ? config.workerConcurrency : renderSlotsFor(config.renderConcurrency, availableParallelism())
  return Object.freeze({
    redisUrl,
    audioRedisUrl: config.audioRedisUrl ?? redisUrl,
    prefix: config.redisPrefix,
    audioTtlSeconds: config.audioTtlSeconds,
    fallback: config.redisFallback,
    fallbackAfterMs: config.redisFallbackAfterMs,
    workersInProcess: config.workersInProcess,
    workerConcurrency: concurrency,
    queueLimit: config.queueLimit,
    transport,
    sharedCacheDir: config.cacheDir,
  })
}
