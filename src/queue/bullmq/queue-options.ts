/** What the BullMQ render queue is built from and what it reports (the node side of the cluster path). */
import type { Clock, Logger } from '../../core/ports/index.js'
import type { RedisTimeouts } from '../../redis/redis-connections.js'
import type { RedisTarget } from '../../redis/redis-target.js'
import type { ClusterRenderOptions, UnavailableCause } from '../cluster-backend.js'
import type { SharedAudioSource } from './shared-audio-source.js'

export type { ClusterRenderOptions, SharedAudioSource, UnavailableCause }

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
  /**
   * The shared audio tier finished audio is collected from (the root picks it: Redis, where the
   * bytes travel through the audio Redis, or a shared directory every worker writes into).
   */
  readonly sharedAudio: SharedAudioSource
  /** Renders this node may wait on at once before TTS_ERR_OVERLOADED (config queueLimit). */
  readonly limit: number
  /** Reported as stats().concurrency: the in-process worker's concurrency, 0 when none. */
  readonly concurrency?: number | undefined
  readonly logger: Logger
  readonly clock?: Clock | undefined
  /** Names this node in job data (logs only). Default `<hostname>:<pid>`. */
  readonly nodeId?: string | undefined
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

