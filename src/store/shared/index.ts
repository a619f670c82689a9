/**
 * The shared audio tiers behind the SharedAudio port (src/core/ports/shared-audio.ts), and the
 * one place that picks one from the configured transport.
 */
import { TtsError } from '../../core/errors.js'
import type { AudioTransport, Logger, SharedAudio } from '../../core/ports/index.js'
import type { RedisClient } from '../../redis/redis-connections.js'
import { RedisSharedAudio, redisAudioKey } from './redis-shared-audio.js'
import { SharedDirAudio } from './shared-dir-audio.js'

export { RedisSharedAudio, redisAudioKey, SharedDirAudio }

export interface SharedAudioOptions {
  /** Default 'redis'. */
  readonly transport?: AudioTransport | undefined
  /** The audio Redis (the redis tier; the worker's reuse check also asks it). */
  readonly client: RedisClient
  readonly prefix: string
  readonly ttlSeconds: number
  readonly logger: Logger
  /** Worker side only. */
  readonly worker?:
    | {
        /** The worker's temp dir (redis tier). */
        readonly stagingDir: () => Promise<string>
        /** The cache dir every node and worker mounts at the same path (shared-dir tier). */
        readonly sharedCacheDir: string | undefined
      }
    | undefined
}

export function createSharedAudio(options: SharedAudioOptions): SharedAudio {
  if (options.transport === 'shared-dir') {
    if (options.worker !== undefined && options.worker.sharedCacheDir === undefined) {
      throw new TtsError('TTS_ERR_CONFIG', { args: ['the shared-dir transport needs sharedCacheDir'] })
    }
    return new SharedDirAudio({ root: options.worker?.sharedCacheDir })
  }
  return new RedisSharedAudio({
    client: options.client,
    prefix: options.prefix,
    ttlSeconds: options.ttlSeconds,
    stagingDir: options.worker?.stagingDir,
    logger: options.logger,
  })
}
