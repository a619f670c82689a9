/**
 * How the BullMQ classes get their shared audio tier (the SharedAudio port): the composition root
 * picks it and hands it over. The queue and the worker never choose a tier themselves.
 */
import type { Logger, SharedAudio } from '../../core/ports/index.js'
import type { RedisClient } from '../../redis/redis-connections.js'

/** What the queue or worker opened that a tier may build on. */
export interface SharedAudioLink {
  /** The audio Redis connection (the queue's own client when audio lives on the queue Redis); the class watches and closes it. */
  readonly client: RedisClient
  readonly logger: Logger
  /** Worker side only: the worker's temp dir (where the Redis tier stages renders). */
  readonly stagingDir?: (() => Promise<string>) | undefined
}

/**
 * A built tier (a shared directory, a test's fake), or how to build one over the audio Redis
 * connection the class opens (the Redis tier: its connection is watched for availability and
 * closed with the queue, so the root cannot open it beforehand).
 */
export type SharedAudioSource = SharedAudio | ((link: SharedAudioLink) => SharedAudio)

export function resolveSharedAudio(source: SharedAudioSource, link: SharedAudioLink): SharedAudio {
  return typeof source === 'function' ? source(link) : source
}
