/**
 * An owned render: the renderer writes `tempPath`; commit validates it and publishes it with
 * one rename (the publication point), release cleans up whatever is left.
 */
import fs from 'node:fs/promises'
import { isCanonicalWav, parseWavHeader, WAV_HEADER_PROBE_BYTES, type WavCheck } from '../../audio/wav.js'
import { isTtsError, TtsError } from '../../core/errors.js'
import type { CacheEntry, Clock, EntryMeta, Logger, RenderedAudio, RenderSlot } from '../../core/ports/index.js'
import { errnoCode, fsyncDir, removeTempAfterFailure, renameOrRemove, storeIoError, unlinkIfExists, usingFile, writeFileSynced } from './fs-util.js'
import { storeFullError, type SpaceInfo } from './disk-space.js'
import { cacheEntryOf, type IndexedEntry } from './entry-files.js'
import { fileTagOf } from './scan-worker.js'
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
  published(entry: IndexedEntry): CacheEntry
  /**
   * The free space of the cache's file system when it is below the store's threshold (a render
   * cut short then is the disk's fault: TTS_ERR_STORE_FULL); undefined when there is room, or
   * when it cannot be read.
   */
  lowSpace(): Promise<SpaceInfo | undefined>
}

/** A render whose file holds less audio than this short of what the engine spoke was cut short. */
const CUT_SHORT_TOLERANCE = Object.freeze({ ms: 20, fraction: 0.01 })

/** Engines and sox say so on stderr when a write failed for lack of space (sox then even exits 0). */
const OUT_OF_SPACE_STDERR = /No space left on device|Disk quota exceeded/

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
    const committed = this.#commit !== undefined && (await this.#commit.then(() => true, () => false))
    // A commit that succeeded renamed the temp file away: nothing is left to delete.
    if (!committed) await unlinkIfExists(this.tempPath)
    await this.#unlock()
  }

  async #publish(meta: SlotMeta, audio: RenderedAudio): Promise<CacheEntry> {
    const { layout, logger } = this.#host
    const { key } = this
    const sidecarTemp = layout.tempPath(key, 'json')
    const { entryMeta, fileTag } = await this.#syncWithSidecar(meta, audio, sidecarTemp)
    await this.#host.settleDeletions(key)
    // Sidecar first: whoever sees the WAV can read its sidecar.
    await renameOrRemove(sidecarTemp, layout.sidecarPath(key), 'publish sidecar')
    const wavPath = layout.wavPath(key)
    try {
      await fs.rename(this.tempPath, wavPath)
    } catch (err) {
      throw storeIoError(err, 'publish WAV', wavPath)
    }
    // Published. The directory fsync makes both renames durable; unlocking meanwhile is safe
    // (the WAV is already visible), and a failure to unlock is only a delay for waiters
    // (stale-lock recovery), not a failed render.
    const unlocked = this.#unlock().catch((err: unknown) => logger.error({ err, key }, 'cannot remove render lock after publishing'))
    const [dirSynced] = await Promise.allSettled([fsyncDir(layout.dirOf(key)), unlocked])
    if (dirSynced.status === 'rejected') throw dirSynced.reason
    return this.#host.published(cacheEntryOf(layout, { ...entryMeta, fileTag }))
  }

  /**
   * Names the disk when a render into `tempPath` failed because it filled up: TTS_ERR_STORE_FULL
   * (wrapping `err`) when the engine or sox said "No space left on device", or when its output was
   * unusable (TTS_ERR_INVALID_AUDIO, TTS_ERR_RENDER_FAILED) while the file system is below its
   * free-space threshold; `err` otherwise. Never throws.
   */
  async explainFailure(err: unknown): Promise<unknown> {
    if (!isTtsError(err) || (err.code !== 'TTS_ERR_INVALID_AUDIO' && err.code !== 'TTS_ERR_RENDER_FAILED')) return err
    const stderr = err.details['stderrTail']
    const said = typeof stderr === 'string' && OUT_OF_SPACE_STDERR.test(stderr)
    const low = await this.#host.lowSpace()
    if (!said && low === undefined) return err
    // The code the caller gets (an operator greps for it); what the engine's output looked like is the cause.
    this.#host.logger.warn({ key: this.key, code: 'TTS_ERR_STORE_FULL', cause: err.code, space: low }, 'render failed for lack of space in the cache directory')
    return storeFullError(this.#host.layout.dirOf(this.key), err, low)
  }

  /**
   * Validates the temp file's header, then fsyncs its data while its sidecar is written and
   * fsynced at `sidecarTemp` (two fsyncs overlapping instead of adding up). Resolves once both
   * are durable; on failure neither the sidecar's temp file nor an open handle is left. Fails
   * with TTS_ERR_INVALID_AUDIO unless the temp file is a canonical WAV.
   */
  async #syncWithSidecar(meta: SlotMeta, audio: RenderedAudio, sidecarTemp: string): Promise<SyncedWav> {
    const { key } = this
    let handle: fs.FileHandle
    try {
      handle = await fs.open(this.tempPath, 'r')
    } catch (err) {
      if (errnoCode(err) !== 'ENOENT') throw storeIoError(err, 'open rendered WAV', this.tempPath)
      throw invalidAudio(meta, key, 'no output file')
    }
    try {
      return await usingFile(handle, (h) => this.#syncValidWav(h, meta, audio, sidecarTemp))
    } catch (err) {
      throw storeIoError(err, 'read rendered WAV', this.tempPath)
    }
  }

  async #syncValidWav(h: fs.FileHandle, meta: SlotMeta, audio: RenderedAudio, sidecarTemp: string): Promise<SyncedWav> {
    const { key } = this
    const { size, wav, fileTag } = await readHeader(h)
    if (!wav.ok || !isCanonicalWav(wav.info, meta.sampleRate)) {
      throw await this.#unusable(meta, wav.ok ? `not PCM16 mono at ${meta.sampleRate} Hz with audio in it` : wav.reason)
    }
    // sox meeting ENOSPC exits 0 with a short file whose header can match its length: only the
    // duration the engine spoke shows the audio was cut.
    const shortMs = audio.durationMs - wav.info.durationMs
    if (shortMs > Math.max(CUT_SHORT_TOLERANCE.ms, audio.durationMs * CUT_SHORT_TOLERANCE.fraction)) {
      throw await this.#unusable(meta, `cut short: ${wav.info.durationMs} ms of the ${audio.durationMs} ms rendered`)
    }
    if (audio.bytes !== size) this.#host.logger.debug({ key, reported: audio.bytes, onDisk: size }, 'renderer reported another size')
    // What the sidecar and the index entry are made of (both pick their fields by name).
    const entryMeta: EntryMeta = {
      ...meta,
      key,
      bytes: size,
      durationMs: wav.info.durationMs,
      createdAt: this.#host.clock.now(),
      pinned: meta.pinned || this.#host.isPinned(key),
    }
    const [wavSynced, sidecarSynced] = await Promise.allSettled([
      h.sync().catch((err: unknown) => {
        throw storeIoError(err, 'fsync rendered WAV', this.tempPath)
      }),
      writeFileSynced(sidecarTemp, encodeSidecar(entryMeta), this.#host.layout.sidecarPath(key)),
    ])
    if (wavSynced.status === 'rejected') {
      // writeFileSynced removes its temp file when it fails; when it succeeded, that is ours to do.
      if (sidecarSynced.status === 'fulfilled') await removeTempAfterFailure(wavSynced.reason, sidecarTemp, sidecarTemp, 'fsync rendered WAV')
      throw wavSynced.reason
    }
    if (sidecarSynced.status === 'rejected') throw sidecarSynced.reason
    return { entryMeta, fileTag }
  }

  /** TTS_ERR_INVALID_AUDIO for a rendered file that cannot be published, or TTS_ERR_STORE_FULL when the disk is why. */
  async #unusable(meta: SlotMeta, reason: string): Promise<unknown> {
    return this.explainFailure(invalidAudio(meta, this.key, reason))
  }

  async #unlock(): Promise<void> {
    if (!this.#lockHeld) return
    this.#lockHeld = false
    const { layout, logger } = this.#host
    const outcome = await removeLockIf(layout.lockPath(this.key), layout.tempPath(this.key, 'lock'), ownedBy(this.#owner))
    if (outcome !== 'removed') logger.warn({ key: this.key, outcome }, 'render lock was no longer ours when releasing it')
  }
}

/** A validated, fsynced temp WAV: its entry's fields and its file's identity (kept by the rename that publishes it). */
interface SyncedWav {
  readonly entryMeta: EntryMeta
  readonly fileTag: number
}

/** Size, identity (`fileTagOf`) and parsed header of an open rendered WAV. */
async function readHeader(handle: fs.FileHandle): Promise<{ size: number; wav: WavCheck; fileTag: number }> {
  // Together, not one after the other (a thread-pool round trip each): nothing writes the file any more.
  const head = Buffer.alloc(WAV_HEADER_PROBE_BYTES)
  const [{ size, dev, ino, mtimeMs }, { bytesRead }] = await Promise.all([handle.stat(), handle.read(head, 0, head.length, 0)])
  return { size, wav: parseWavHeader(head.subarray(0, Math.min(bytesRead, size)), size), fileTag: fileTagOf(dev, ino, mtimeMs) }
}

function invalidAudio(meta: SlotMeta, key: string, reason: string): TtsError {
  return new TtsError('TTS_ERR_INVALID_AUDIO', { args: [meta.engine, reason], details: { key, reason } })
}
