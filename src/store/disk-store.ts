/**
 * The disk audio store: WAVs under `<cacheDir>/<k[0..2]>/<k[2..4]>/<key>.wav` with a JSON
 * sidecar, an in-memory index (LRU by bytes, pinned entries apart) rebuilt by a scan at
 * open, and cross-process render locks. Hits never touch the disk.
 */
import fs from 'node:fs/promises'
import { TtsError } from '../core/errors.js'
import type { AudioStore, CacheEntry, ClaimOptions, ClaimResult, EntryFilter, StoreStats } from '../core/ports.js'
import { CacheIndex } from './cache-index.js'
import { claimKey, type ClaimHost } from './claim.js'
import { forEachLimit } from './concurrency.js'
import { DirWatchers } from './dir-watcher.js'
import { readEntry, removeEntryFiles } from './entry-files.js'
import { fsyncDir, storeIoError, writeFileAtomic } from './fs-util.js'
import { KeyDeletions } from './key-deletions.js'
import { assertCacheKey, CacheLayout } from './layout.js'
import { resolveStoreOptions, type DiskStoreOptions, type EvictReason, type ResolvedStoreOptions } from './options.js'
import { DiskRenderSlot, type SlotHost } from './render-slot.js'
import { scanCacheDir, type ScanReport } from './scan.js'
import { encodeSidecar } from './sidecar.js'
import { StringPool } from './string-pool.js'

export class DiskStore implements AudioStore {
  readonly #options: ResolvedStoreOptions
  readonly #layout: CacheLayout
  readonly #index: CacheIndex
  readonly #pool = new StringPool()
  readonly #watchers: DirWatchers
  readonly #deletions = new KeyDeletions()
  readonly #claimHost: ClaimHost
  readonly #slotHost: SlotHost
  #scanReport: ScanReport | undefined

  /**
   * Creates `cacheDir` if needed, scans it (cleaning crash leftovers) and indexes what is valid.
   * Throws TTS_ERR_CONFIG for bad options, TTS_ERR_STORE_IO when the directory is unusable.
   */
  static async open(options: DiskStoreOptions): Promise<DiskStore> {
    const resolved = resolveStoreOptions(options)
    try {
      await fs.mkdir(resolved.cacheDir, { recursive: true })
    } catch (err) {
      throw storeIoError(err, 'create cache directory', resolved.cacheDir)
    }
    const store = new DiskStore(resolved)
    await store.#load()
    return store
  }

  private constructor(options: ResolvedStoreOptions) {
    this.#options = options
    const logger = options.logger.child({ component: 'store' })
    this.#layout = new CacheLayout(options.cacheDir)
    this.#watchers = new DirWatchers(logger)
    this.#index = new CacheIndex({
      maxBytes: options.maxCacheBytes,
      maxAgeMs: options.maxAgeMs,
      clock: options.clock,
      onDropped: (entry, reason) => this.#dropped(entry, reason),
    })
    const settleDeletions = (key: string): Promise<void> => this.#deletions.settled(key)
    this.#claimHost = {
      layout: this.#layout,
      watchers: this.#watchers,
      logger,
      staleLockMs: options.staleLockMs,
      lockPollMs: options.lockPollMs,
      settleDeletions,
      read: (key) => readEntry(this.#layout, key, this.#pool),
      isExpired: (entry) => this.#index.isExpired(entry),
      found: (entry) => this.#indexFound(entry),
      slot: (key, owner) => new DiskRenderSlot(this.#slotHost, key, owner),
    }
    this.#slotHost = {
      layout: this.#layout,
      clock: options.clock,
      logger,
      settleDeletions,
      isPinned: (key) => this.#index.peek(key)?.pinned === true,
      published: (entry) => {
        this.#index.add(entry)
        return entry
      },
    }
  }

  /** What the start-up scan found and cleaned (for the start log and benchmarks). */
  get scanReport(): ScanReport | undefined {
    return this.#scanReport
  }

  get cacheDir(): string {
    return this.#layout.cacheDir
  }

  lookup(key: string): CacheEntry | undefined {
    assertCacheKey(key)
    return this.#index.get(key)
  }

  peek(key: string): CacheEntry | undefined {
    assertCacheKey(key)
    return this.#index.peek(key)
  }

  claim(key: string, options: ClaimOptions = {}): Promise<ClaimResult> {
    try {
      assertCacheKey(key)
    } catch (err) {
      return Promise.reject(err)
    }
    return claimKey(this.#claimHost, key, options)
  }

  /**
   * Pins an indexed entry: out of the LRU (never evicted nor expired), sidecar rewritten with
   * `pinned: true` so a restart keeps it. TTS_ERR_NOT_FOUND when the key is not indexed.
   */
  async pin(key: string): Promise<void> {
    assertCacheKey(key)
    const entry = this.#index.peek(key)
    if (entry === undefined) throw new TtsError('TTS_ERR_NOT_FOUND', { args: [`cache entry ${key}`] })
    if (entry.pinned) return
    const pinned: CacheEntry = Object.freeze({ ...entry, pinned: true })
    // Move it out of the LRU first, so no eviction deletes its files while the sidecar is written.
    this.#index.add(pinned)
    try {
      await writeFileAtomic(this.#layout.tempPath(key, 'json'), this.#layout.sidecarPath(key), encodeSidecar(pinned))
      await fsyncDir(this.#layout.dirOf(key))
    } catch (err) {
      if (this.#index.peek(key) === pinned) this.#index.add(entry)
      throw storeIoError(err, 'pin', this.#layout.sidecarPath(key))
    }
  }

  /** Drops the entry from the index and deletes its files. True when there was something to remove. */
  async remove(key: string): Promise<boolean> {
    assertCacheKey(key)
    const entry = this.#index.delete(key)
    const hadWav = await this.#deleteFiles(key)
    return entry !== undefined || hadWav
  }

  /** Removes every indexed entry (pinned ones included) matching all given fields; `{}` matches all. */
  async removeWhere(filter: EntryFilter): Promise<number> {
    const matches = (e: CacheEntry): boolean =>
      (filter.voice === undefined || e.voice === filter.voice) && (filter.engine === undefined || e.engine === filter.engine)
    return this.#removeKeys([...this.#index.all()].filter(matches).map((e) => e.key))
  }

  /** Removes every indexed entry, pinned ones included. Locks and renders in progress are left alone. */
  async removeAll(): Promise<number> {
    return this.#removeKeys([...this.#index.all()].map((e) => e.key))
  }

  /** Indexed, unexpired entries: pinned first, then most to least recently used. No recency change. */
  *entries(): IterableIterator<CacheEntry> {
    for (const entry of this.#index.all()) if (!this.#index.isExpired(entry)) yield entry
  }

  /** `entries`/`bytes` count the evictable (LRU) entries only; pinned ones are counted apart. */
  stats(): StoreStats {
    return { ...this.#index.stats(), maxBytes: this.#options.maxCacheBytes }
  }

  pathFor(key: string): string {
    assertCacheKey(key)
    return this.#layout.wavPath(key)
  }

  /**
   * Resolves when the file deletions started so far (evictions, expiries) are done. Lookups
   * and commits evict synchronously in memory; their files go in the background.
   */
  idle(): Promise<void> {
    return this.#deletions.idle()
  }

  /** Stops watching directories and waits for pending deletions. Claims still waiting fall back to polling. */
  async close(): Promise<void> {
    this.#watchers.closeAll()
    await this.idle()
  }

  async #load(): Promise<void> {
    const options = this.#options
    let scanned: Awaited<ReturnType<typeof scanCacheDir>>
    try {
      scanned = await scanCacheDir({
        layout: this.#layout,
        pool: this.#pool,
        staleLockMs: options.staleLockMs,
        concurrency: options.scanConcurrency,
        threads: options.scanThreads,
        maxAgeMs: options.maxAgeMs,
        clock: options.clock,
        logger: this.#claimHost.logger,
      })
    } catch (err) {
      throw storeIoError(err, 'scan', options.cacheDir)
    }
    const { entries, report } = scanned
    // Oldest first: the newest end up most recently used; over budget, the oldest go (and their files).
    for (const entry of entries) this.#index.add(entry)
    this.#scanReport = report
    this.#claimHost.logger.info({ ...report, indexed: this.#index.stats() }, 'cache directory scanned')
  }

  #indexFound(entry: CacheEntry): CacheEntry {
    const known = this.#index.peek(entry.key)
    // Already indexed with the same file: keep the indexed object (and its pinned state).
    if (known !== undefined && known.bytes === entry.bytes && known.createdAt === entry.createdAt) return known
    this.#index.add(entry)
    return entry
  }

  async #removeKeys(keys: readonly string[]): Promise<number> {
    for (const key of keys) this.#index.delete(key)
    try {
      await forEachLimit(keys, this.#options.scanConcurrency, async (key) => {
        await this.#deleteFiles(key)
      })
    } catch (err) {
      throw storeIoError(err, 'remove entries under', this.#layout.cacheDir)
    }
    return keys.length
  }

  #deleteFiles(key: string): Promise<boolean> {
    return this.#deletions.run(key, () => removeEntryFiles(this.#layout, key))
  }

  #dropped(entry: CacheEntry, reason: EvictReason): void {
    const log = this.#claimHost.logger
    log.debug({ key: entry.key, bytes: entry.bytes, reason }, 'evicting cache entry')
    this.#deleteFiles(entry.key).catch((err: unknown) => log.error({ err, key: entry.key, reason }, 'cannot delete evicted entry'))
    try {
      this.#options.onEvict?.(entry, reason)
    } catch (err) {
      log.error({ err, key: entry.key }, 'onEvict hook threw')
    }
  }
}
