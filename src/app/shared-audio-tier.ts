/**
 * The one place the root picks the shared audio tier (the SharedAudio port) from the configured
 * transport and hands it to the BullMQ queue and worker. To add a tier (S3, …): one class
 * implementing SharedAudio under src/store/shared/, one line here.
 */
import { TtsError } from '../core/errors.js'
import type { AudioTransport } from '../core/ports/index.js'
import type { SharedAudioSource } from '../queue/bullmq/shared-audio-source.js'
import { RedisSharedAudio } from '../store/shared/redis-shared-audio.js'
import { SharedDirAudio } from '../store/shared/shared-dir-audio.js'

export type { SharedAudioSource }

export interface SharedAudioTierSettings {
  readonly transport: AudioTransport
  /** Key namespace (config redisPrefix) of the Redis tier's entries. */
  readonly prefix: string
  readonly audioTtlSeconds: number
  /** shared-dir: the cache dir every node and worker mounts at the same path (the worker needs it). */
  readonly sharedCacheDir: string | undefined
}

/**
 * The tier of `settings.transport` for one side of the cluster path. The Redis tier is built over
 * the audio connection the queue or worker opens (it watches and closes it); the shared directory
 * needs none. Throws TTS_ERR_CONFIG for a shared-dir worker without a shared cache dir.
 */
export function sharedAudioTier(settings: SharedAudioTierSettings, side: 'node' | 'worker'): SharedAudioSource {
  if (settings.transport === 'shared-dir') {
    if (side === 'worker' && settings.sharedCacheDir === undefined) {
      throw new TtsError('TTS_ERR_CONFIG', { args: ['the shared-dir transport needs sharedCacheDir'] })
    }
    return new SharedDirAudio({ root: side === 'worker' ? settings.sharedCacheDir : undefined })
  }
  return redisSharedAudio(settings.prefix, settings.audioTtlSeconds)
}

/** The Redis tier (entries at `<prefix>:audio:<key>`, expiring `ttlSeconds` after their publish), built over the class's audio connection. */
export function redisSharedAudio(prefix: string, ttlSeconds: number): SharedAudioSource {
  return ({ client, logger, stagingDir }) => new RedisSharedAudio({ client, prefix, ttlSeconds, stagingDir, logger })
}
