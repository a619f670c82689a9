/**
 * Finished WAVs shared through Redis: a worker publishes the bytes under the cache key, every
 * node copies them into its own disk cache on first use. Meant for a Redis with an LRU eviction
 * policy (an evicted entry is simply rendered again), separate from the queue's `noeviction`
 * instance; docs/scale-out.md has both configurations.
 */
import { writeFile } from 'node:fs/promises'
import { isCanonicalWav, parseWavHeader, WAV_HEADER_PROBE_BYTES } from '../../audio/wav.js'
import type { RenderedAudio } from '../../core/ports/index.js'
import type { RedisClient } from '../../queue/bullmq/redis-connections.js'

export interface SharedAudio {
  readonly wav: Buffer
  readonly durationMs: number
}

export interface RedisSharedAudioOptions {
  /** Any topology. On a Redis Cluster each entry is one key, so entries spread over the masters. */
  readonly client: RedisClient
  /** Key namespace (config redisPrefix, never hash-tagged); entries live at `<prefix>:audio:<cacheKey>`. */
  readonly prefix: string
  /** Entries expire this long after their last publish (config audioTtlSeconds). */
  readonly ttlSeconds: number
}

/** Why a fetched entry was not usable: it is then treated as absent (and rendered again). */
export type SharedAudioCheck = { readonly ok: true; readonly audio: SharedAudio } | { readonly ok: false; readonly reason: string }

export class RedisSharedAudio {
  readonly #client: RedisClient
  readonly #prefix: string
  readonly #ttlSeconds: number

  constructor(options: RedisSharedAudioOptions) {
    this.#client = options.client
    this.#prefix = options.prefix
    this.#ttlSeconds = options.ttlSeconds
  }

  get client(): RedisClient {
    return this.#client
  }

  keyOf(cacheKey: string): string {
    return `${this.#prefix}:audio:${cacheKey}`
  }

  /**
   * Stores the complete WAV and its TTL in one MULTI: readers see the whole entry or none
   * (a worker that dies before this line published nothing).
   */
  async publish(cacheKey: string, audio: SharedAudio): Promise<void> {
    const key = this.keyOf(cacheKey)
    await this.#client
      .multi()
      .hset(key, 'wav', audio.wav, 'bytes', String(audio.wav.byteLength), 'durationMs', String(audio.durationMs))
      .expire(key, this.#ttlSeconds)
      .exec()
      .then(throwOnTransactionError)
  }

  /** The published WAV, or undefined when absent (never published, expired or evicted). */
  async fetch(cacheKey: string): Promise<SharedAudio | undefined> {
    const [wav, durationMs] = await this.#client.hmgetBuffer(this.keyOf(cacheKey), 'wav', 'durationMs')
    if (wav === null || wav === undefined) return undefined
    return { wav, durationMs: Number(durationMs?.toString() ?? 0) }
  }

  async exists(cacheKey: string): Promise<boolean> {
    return (await this.#client.exists(this.keyOf(cacheKey))) === 1
  }

  async remove(cacheKey: string): Promise<void> {
    await this.#client.del(this.keyOf(cacheKey))
  }
}

/** A published entry is used only if it is a complete canonical WAV at the requested rate. */
export function checkSharedAudio(audio: SharedAudio, sampleRate: number): SharedAudioCheck {
  const parsed = parseWavHeader(audio.wav.subarray(0, WAV_HEADER_PROBE_BYTES), audio.wav.byteLength)
  if (!parsed.ok) return { ok: false, reason: parsed.reason }
  if (!isCanonicalWav(parsed.info, sampleRate)) return { ok: false, reason: `not PCM16 mono at ${sampleRate} Hz` }
  return { ok: true, audio: { wav: audio.wav, durationMs: parsed.info.durationMs } }
}

/**
 * Writes the bytes to the render slot's temp path. The slot validates, fsyncs and renames it
 * into place afterwards, so this plain write is enough: nobody reads the temp path meanwhile.
 */
export async function materialiseAudio(outPath: string, audio: SharedAudio): Promise<RenderedAudio> {
  await writeFile(outPath, audio.wav, { flag: 'w' })
  return { bytes: audio.wav.byteLength, durationMs: audio.durationMs }
}

function throwOnTransactionError(results: [Error | null, unknown][] | null): void {
  if (results === null) throw new Error('redis transaction was discarded')
  for (const [err] of results) if (err !== null) throw err
}
