import { readFile } from 'node:fs/promises'
import { LRUCache } from 'lru-cache'
import type { CacheEntry } from '../core/ports/index.js'

interface HotFile {
  /** The index entry the bytes were read for: a refresh or re-render makes a new one. */
  readonly entry: CacheEntry
  readonly bytes: Buffer
}

export interface HotAudioOptions {
  /** Memory budget for file bytes; 0 turns the cache off. */
  readonly maxBytes: number
  /** Files larger than this are always streamed from disk. */
  readonly maxFileBytes: number
}

/**
 * The bytes of the WAVs HTTP serves most, in memory: a hit then costs no open, fstat, read or
 * close (together about half of a hit's CPU when streamed from disk, by profile). Bounded in
 * bytes (lru-cache), small files only.
 *
 * Never stale: each copy remembers the store's index entry (TtsResult.entry) it was read for, and
 * is used only while that is still the entry the index answers with. A refresh, purge, eviction
 * or re-render replaces or drops the entry object, so the next hit reads the file again; and so
 * does a file deleted, truncated or replaced behind the store: every lookup stats the file and
 * drops an entry that no longer matches it (DiskStore.lookup), so these bytes are never served
 * for a file that is gone or changed. Bytes read at another length than the entry's are neither
 * kept nor served.
 */
export class HotAudio {
  readonly #cache: LRUCache<string, HotFile> | undefined
  readonly #maxFileBytes: number

  constructor(options: HotAudioOptions) {
    this.#maxFileBytes = options.maxFileBytes
    this.#cache =
      options.maxBytes > 0 ? new LRUCache<string, HotFile>({ maxSize: options.maxBytes, sizeCalculation: (file) => Math.max(1, file.bytes.length) }) : undefined
  }

  /** The bytes for this entry if they are in memory and still current. */
  get(entry: CacheEntry): Buffer | undefined {
    const hot = this.#cache?.get(entry.key)
    if (hot === undefined) return undefined
    if (hot.entry === entry) return hot.bytes
    this.#cache?.delete(entry.key)
    return undefined
  }

  /**
   * Reads the entry's file into memory when it fits (the caller then serves the bytes). undefined
   * when it does not fit or the cache is off: stream it instead. Rejects like readFile (ENOENT
   * when the file is gone).
   */
  async load(entry: CacheEntry): Promise<Buffer | undefined> {
    if (this.#cache === undefined || entry.bytes > this.#maxFileBytes) return undefined
    const bytes = await readFile(entry.path)
    // Another length than the index says: changed since the lookup (the caller does not send it).
    if (bytes.length === entry.bytes && bytes.length <= this.#maxFileBytes) this.#cache.set(entry.key, { entry, bytes })
    return bytes
  }
}
