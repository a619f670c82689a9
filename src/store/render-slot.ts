/**
 * An owned render: the renderer writes `tempPath`; commit validates it and publishes it with
 * one rename (the publication point), release cleans up whatever is left.
 */
import fs from 'node:fs/promises'
import { isCanonicalWav, parseWavHeader, WAV_HEADER_PROBE_BYTES, type WavCheck } from '../audio/wav.js'
import { TtsError } from '../core/errors.js'
import type { CacheEntry, Clock, EntryMeta, Logger, RenderedAudio, RenderSlot } from '../core/ports.js'
import { errnoCode, fsyncDir, storeIoError, unlinkIfExists, usingFile, writeFileAtomic } from './fs-util.js'
import { cacheEntryOf } from './entry-files.js'
import type { CacheLayout } from './layout.js'
import { ownedBy, removeLockIf, type LockOwner } from './render-lock.js'
import { encodeSidecar } from './sidecar.js'

export type SlotMeta = Omit<EntryMeta, 'key' | 'bytes' | 'durationMs' | 'createdAt'>

/** What a slot needs from its store. */
export interface SlotHost {
  readonly layout: CacheLayout
  readonly clock: Clock
  readonly logger: Logger
  /** Resolves once pending deletions of the key's files are done (so they cannot hit the new file). */
  settleDeletions(key: string): Promise<void>
  /** Whether the key is pinned now: a re-render keeps the pin. */
  isPinned(key: string): boolean
  /** Indexes a just-published entry; returns what lookups will see. */
  published(entry: CacheEntry): CacheEntry
}

export class DiskRenderSlot implements RenderSlot {
  readonly key: string
  readonly tempPath: string
  readonly #host: SlotHost
  readonly #owner: LockOwner
  #lockHeld = true
  #commit: Promise<CacheEntry> | undefined
  #cleanup: Promise<void> | undefined

  constructor(host: SlotHost, key: string, owner: LockOwner) {
    this.#host = host
    this.key = key
    this.#owner = owner
    this.tempPath = host.layout.tempPath(key, 'wav')
  }

  /** Fails with TTS_ERR_INVALID_AUDIO (nothing cached, slot released) unless tempPath holds a canonical WAV. */
  async commit(meta: SlotMeta, audio: RenderedAudio): Promise<CacheEntry> {
    if (this.#commit !== undefined || this.#cleanup !== undefined) {
      throw new TtsError('TTS_ERR_INTERNAL', { args: ['render slot already committed or released'] })
    }
    this.#commit = this.#publish(meta, audio)
    try {
      return await this.#commit
    } catch (err) {
      await this.release().catch((releaseErr: unknown) =>
        this.#host.logger.error({ err: releaseErr, key: this.key }, 'cannot clean up after a failed commit'),
      )
      throw err
    }
  }

  /** Idempotent; after a commit only removes what the commit did not. */
  release(): Promise<void> {
    this.#cleanup ??= this.#release()
    return this.#cleanup
  }

  async #release(): Promise<void> {
    // A commit in progress finishes first; its own caller receives its outcome.
    if (this.#commit !== undefined) await Promise.allSettled([this.#commit])
    await unlinkIfExists(this.tempPath)
    await this.#unlock()
  }

  async #publish(meta: SlotMeta, audio: RenderedAudio): Promise<CacheEntry> {
    const { layout, clock, logger } = this.#host
    const { key } = this
    const { size, wav } = await this.#validateAndSync(meta.sampleRate)
    if (!wav.ok || !isCanonicalWav(wav.info, meta.sampleRate)) {
      const reason = wav.ok ? `not PCM16 mono at ${meta.sampleRate} Hz with audio in it` : wav.reason
      throw new TtsError('TTS_ERR_INVALID_AUDIO', { args: [meta.engine, reason], details: { key, reason } })
    }
    if (audio.bytes !== size) logger.debug({ key, reported: audio.bytes, onDisk: size }, 'renderer reported another size')
    const entryMeta: EntryMeta = {
      key,
      text: meta.text,
      voice: meta.voice,
      engine: meta.engine,
      engineVersion: meta.engineVersion,
      sampleRate: meta.sampleRate,
      format: meta.format,
      bytes: size,
      durationMs: wav.info.durationMs,
      createdAt: clock.now(),
      pinned: meta.pinned || this.#host.isPinned(key),
    }
    await this.#host.settleDeletions(key)
    // Sidecar first: whoever sees the WAV can read its sidecar.
    await writeFileAtomic(layout.tempPath(key, 'json'), layout.sidecarPath(key), encodeSidecar(entryMeta))
    const wavPath = layout.wavPath(key)
    try {
      await fs.rename(this.tempPath, wavPath)
    } catch (err) {
      throw storeIoError(err, 'publish WAV', wavPath)
    }
    await fsyncDir(layout.dirOf(key))
    const entry = this.#host.published(cacheEntryOf(layout, entryMeta))
    // Published: a failure to unlock now is only a delay for waiters (stale-lock recovery), not a failed render.
    await this.#unlock().catch((err: unknown) => logger.error({ err, key }, 'cannot remove render lock after publishing'))
    return entry
  }

  /** Reads the header of the temp file, fsyncs it when it is valid. */
  async #validateAndSync(sampleRate: number): Promise<{ size: number; wav: WavCheck }> {
    let handle: fs.FileHandle
    try {
      handle = await fs.open(this.tempPath, 'r')
    } catch (err) {
      if (errnoCode(err) !== 'ENOENT') throw storeIoError(err, 'open rendered WAV', this.tempPath)
      return { size: 0, wav: { ok: false, reason: 'no output file' } }
    }
    try {
      return await usingFile(handle, async (h) => {
        const { size } = await h.stat()
        const head = Buffer.alloc(Math.min(size, WAV_HEADER_PROBE_BYTES))
        const { bytesRead } = await h.read(head, 0, head.length, 0)
        const wav = parseWavHeader(head.subarray(0, bytesRead), size)
        if (wav.ok && isCanonicalWav(wav.info, sampleRate)) await h.sync()
        return { size, wav }
      })
    } catch (err) {
      throw storeIoError(err, 'read rendered WAV', this.tempPath)
    }
  }

  async #unlock(): Promise<void> {
    if (!this.#lockHeld) return
    this.#lockHeld = false
    const { layout, logger } = this.#host
    const outcome = await removeLockIf(layout.lockPath(this.key), layout.tempPath(this.key, 'lock'), ownedBy(this.#owner))
    if (outcome !== 'removed') logger.warn({ key: this.key, outcome }, 'render lock was no longer ours when releasing it')
  }
}
