/**
 * Finished WAVs shared through Redis: a worker publishes the bytes under the cache key, every
 * node copies them into its own disk cache on first use. Meant for a Redis with an LRU eviction
 * policy (an evicted entry is simply rendered again), separate from the queue's `noeviction`
 * instance; docs/scale-out.md has both configurations.
 */
import path from 'node:path'
import type { Logger, RenderedAudio, SharedAudio, SharedDelivery, SharedWav, StagedWav } from '../../core/ports/index.js'
import type { RedisClient } from '../../redis/redis-connections.js'
import { redisErrorForLog } from '../../redis/redis-errors.js'
import { checkSharedWav, writeSharedWav } from './shared-wav.js'

export interface RedisSharedAudioOptions {
  /** Any topology. On a Redis Cluster each entry is one key, so entries spread over the masters. */
  readonly client: RedisClient
  /** Key namespace (config redisPrefix, never hash-tagged); entries live at `<prefix>:audio:<cacheKey>`. */
  readonly prefix: string
  /** Entries expire this long after their last publish (config audioTtlSeconds). */
  readonly ttlSeconds: number
  /** Where a worker renders before publishing (its own temp dir); asked only by `stagingPath`. */
  readonly stagingDir?: (() => Promise<string>) | undefined
  readonly logger: Logger
}

/** The Redis key of a cache key's shared entry (docs/scale-out.md documents the layout). */
export function redisAudioKey(prefix: string, cacheKey: string): string {
  return `${prefix}:audio:${cacheKey}`
}

export class RedisSharedAudio implements SharedAudio {
  readonly transport = 'redis'
  readonly #client: RedisClient
  readonly #prefix: string
  readonly #ttlSeconds: number
  readonly #stagingDir: (() => Promise<string>) | undefined
  readonly #log: Logger

  constructor(options: RedisSharedAudioOptions) {
    this.#client = options.client
    this.#prefix = options.prefix
    this.#ttlSeconds = options.ttlSeconds
    this.#stagingDir = options.stagingDir
    this.#log = options.logger
  }

  keyOf(cacheKey: string): string {
    return redisAudioKey(this.#prefix, cacheKey)
  }

  async findPublished(key: string, sampleRate: number): Promise<SharedWav | undefined> {
    const published = await this.fetch(key)
    if (published === undefined) return undefined
    const check = checkSharedWav(published, sampleRate)
    if (check.ok) return check.audio
    this.#log.warn({ key, reason: check.reason }, 'published audio is not valid; dropping it')
    await this.remove(key).catch((err: unknown) => this.#log.debug({ err: redisErrorForLog(err) }, 'could not drop invalid audio'))
    return undefined
  }

  jobTarget(): undefined {
    return undefined
  }

  async collect(key: string, sampleRate: number): Promise<SharedDelivery | undefined> {
    const wav = await this.findPublished(key, sampleRate)
    return wav === undefined ? undefined : { kind: 'bytes', wav }
  }

  writeTo(outPath: string, audio: SharedWav): Promise<RenderedAudio> {
    return writeSharedWav(outPath, audio)
  }

  /** The published WAV, or undefined when absent (never published, expired or evicted). */
  async fetch(key: string): Promise<SharedWav | undefined> {
    const [wav, durationMs] = await this.#client.hmgetBuffer(this.keyOf(key), 'wav', 'durationMs')
    if (wav === null || wav === undefined) return undefined
    return { wav, durationMs: Number(durationMs?.toString() ?? 0) }
  }

  async stagingPath(key: string, _target: string | undefined, unique: string): Promise<string> {
    if (this.#stagingDir === undefined) throw new Error('this redis shared-audio tier has no staging dir (a node, not a worker)')
    return path.join(await this.#stagingDir(), `${key}.${unique}.wav`)
  }

  /**
   * Stores the complete WAV and its TTL in one MULTI: readers see the whole entry or none
   * (a worker that dies before this line published nothing).
   */
  async publish(key: string, staged: StagedWav): Promise<void> {
    const redisKey = this.keyOf(key)
    await this.#client
      .multi()
      .hset(redisKey, 'wav', staged.wav, 'bytes', String(staged.wav.byteLength), 'durationMs', String(staged.durationMs))
      .expire(redisKey, this.#ttlSeconds)
      .exec()
      .then(throwOnTransactionError)
  }

  async exists(key: string): Promise<boolean> {
    return (await this.#client.exists(this.keyOf(key))) === 1
  }

  async remove(key: string): Promise<void> {
    await this.#client.del(this.keyOf(key))
  }
}

function throwOnTransactionError(results: [Error | null, unknown][] | null): void {
  if (results === null) throw new Error('redis transaction was discarded')
  for (const [err] of results) if (err !== null) throw err
}
