/**
 * Config → cluster settings. The only place that decides cluster defaults derived from the
 * config (worker concurrency, which Redis holds the audio).
 */
import { availableParallelism } from 'node:os'
import type { Config } from '../config/schema.js'
import { renderSlotsFor } from '../core/defaults.js'
import { TtsError } from '../core/errors.js'
import type { AudioTransport } from '../core/ports/index.js'
import type { RedisTimeouts } from '../redis/redis-connections.js'
import { singleRedis, type RedisTarget } from '../redis/redis-target.js'

/** The config keys the cluster path reads (a subset of Config, so tests can pass just these). */
export type ClusterConfig = Pick<
  Config,
  | 'redisUrl'
  | 'redisSentinels'
  | 'redisSentinelName'
  | 'redisSentinelPassword'
  | 'redisClusterNodes'
  | 'redisUsername'
  | 'redisPassword'
  | 'redisCommandTimeoutMs'
  | 'redisConnectTimeoutMs'
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
  /** The queue Redis: one server, a Sentinel-managed master, or a Redis Cluster. */
  readonly redis: RedisTarget
  /** Where finished audio is shared: TTS_AUDIO_REDIS_URL, else the queue Redis. */
  readonly audioRedis: RedisTarget
  readonly timeouts: RedisTimeouts
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

/** The keys that say which Redis the cluster path uses (a subset, so the CLI can ask before loading the cluster code). */
export type RedisTopologyConfig = Pick<Config, 'redisUrl' | 'redisSentinels' | 'redisSentinelName' | 'redisSentinelPassword' | 'redisClusterNodes' | 'redisUsername' | 'redisPassword'>

/** True when any Redis topology is configured: REDIS_URL, REDIS_SENTINELS or REDIS_CLUSTER_NODES. */
export function redisConfigured(config: Pick<Config, 'redisUrl' | 'redisSentinels' | 'redisClusterNodes'>): boolean {
  return config.redisUrl !== undefined || config.redisSentinels !== undefined || config.redisClusterNodes !== undefined
}

/** The queue Redis of the config, or undefined when none is configured. (The schema allows one topology.) */
export function redisTargetFrom(config: RedisTopologyConfig): RedisTarget | undefined {
  const credentials = { username: config.redisUsername, password: config.redisPassword }
  if (config.redisSentinels !== undefined) {
    return { kind: 'sentinel', sentinels: config.redisSentinels, name: config.redisSentinelName ?? 'mymaster', sentinelPassword: config.redisSentinelPassword, ...credentials }
  }
  if (config.redisClusterNodes !== undefined) return { kind: 'cluster', nodes: config.redisClusterNodes, ...credentials }
  if (config.redisUrl !== undefined) return singleRedis(config.redisUrl)
  return undefined
}

/**
 * `workerConcurrency` 0 means "as `renderConcurrency`", and that 0 means two per CPU core.
 * Throws TTS_ERR_CONFIG when Redis is not configured (the caller should not be here then).
 */
export function clusterSettingsFrom(config: ClusterConfig, transport: AudioTransport = 'redis'): ClusterSettings {
  const redis = redisTargetFrom(config)
  if (redis === undefined) throw new TtsError('TTS_ERR_CONFIG', { args: ['the cluster path needs REDIS_URL, REDIS_SENTINELS or REDIS_CLUSTER_NODES'] })
  const concurrency = config.workerConcurrency > 0 ? config.workerConcurrency : renderSlotsFor(config.renderConcurrency, availableParallelism())
  return Object.freeze({
    redis,
    audioRedis: config.audioRedisUrl === undefined ? redis : singleRedis(config.audioRedisUrl),
    timeouts: { commandTimeoutMs: config.redisCommandTimeoutMs, connectTimeoutMs: config.redisConnectTimeoutMs },
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
