/**
 * The disk audio store: WAVs under `<cacheDir>/<k[0..2]>/<k[2..4]>/<key>.wav` with a JSON
 * sidecar, an in-memory index (LRU by bytes, pinned entries apart) rebuilt by a scan at
 * open, and cross-process render locks. A hit is one stat of its WAV (file-identity.ts): the
 * disk is trusted over memory.
 */
import fs from 'node:fs/promises'
import type { AudioStore, CacheEntry, ClaimOptions, ClaimResult, DescribedEntry, EntryFilter, StoreStats } from '../../core/ports/index.js'
import { CacheIndex } from './cache-index.js'
import { claimKey, type ClaimHost } from './claim.js'
import { cacheDirHealth, type StoreHealth } from './dir-health.js'
import { DirWatchers } from './dir-watcher.js'
import { isLow, type SpaceInfo } from './disk-space.js'
import { readEntry, readSidecar, type IndexedEntry } from './entry-files.js'
import { deleteEntryFiles, entryEvicted, keysMatching, removeKeys, type RemovalHost } from './entry-removal.js'
import { staleReasonOf, type StaleReason } from './file-identity.js'
import { storeIoError } from './fs-util.js'
import { pinEntry } from './pin-entry.js'
import { scanIntoIndex } from './index-load.js'
import { KeyDeletions } from './key-deletions.js'
import { assertCacheKey, CacheLayout } from './layout.js'
import { resolveStoreOptions, STORE_DEFAULTS, type DiskStoreOptions, type ResolvedStoreOptions } from './options.js'
import { DiskRenderSlot, type SlotHost } from './render-slot.js'
import type { ScanReport } from './scan.js'
import { ServiceRegistration } from './service-registry.js'
import { IndexVerifier, StaleEntries, type AuditReport } from './stale-entries.js'
import { StringPool } from './string-pool.js'

export type { AuditReport, StoreHealth }

export class DiskStore implements AudioStore {
  readonly #options: ResolvedStoreOptions
  readonly #layout: CacheLayout
  readonly #index: CacheIndex
  readonly #pool = new StringPool()
  readonly #watchers: DirWatchers
  readonly #deletions = new KeyDeletions()
  readonly #claimHost: ClaimHost
  readonly #slotHost: SlotHost
  readonly #removal: RemovalHost
  #scanReport: ScanReport | undefined
  /** The background scan, while it runs (settles, never rejects). */
  #scanning: Promise<void> | undefined
  readonly #scanAbort = new AbortController()
  #scanError: Error | undefined
  /** During a background scan: keys claimed, published, pinned or removed since it began (the scan leaves them alone). */
  #touched: Set<string> | undefined
  /** This service's registration in the directory (`service` option), released by close. */
  #registration: ServiceRegistration | undefined
  /** Entries found stale, by reason (see StaleReason), with their throttled warning. */
  readonly #stale = new StaleEntries()
  /** Notices the cache directory vanishing or being replaced, and checks the whole index then. */
  readonly #verifier: IndexVerifier

  /**
   * Creates `cacheDir` if needed, scans it (cleaning crash leftovers) and indexes what is valid.
   * Throws TTS_ERR_CONFIG for bad options, TTS_ERR_STORE_IO when the directory is unusable.
   * With `scanInBackground` it returns once the directory exists without scanning: `startScan`
   * runs the scan in the background (see `indexing`); a failure of that scan is logged and
   * reported by `indexing`, not thrown.
   */
  static async open(options: DiskStoreOptions): Promise<DiskStore> {
    const resolved = resolveStoreOptions(options)
    try {
      await fs.mkdir(resolved.cacheDir, { recursive: true })
    } catch (err) {
      throw storeIoError(err, 'create cache directory', resolved.cacheDir)
    }
    const registration =
      resolved.service === undefined
        ? undefined
        : await ServiceRegistration.register({ cacheDir: resolved.cacheDir, shared: resolved.service.shared, logger: resolved.logger.child({ component: 'store' }) })
    const store = new DiskStore(resolved)
    store.#registration = registration
    store.#verifier.captureRoot()
    if (resolved.scanInBackground) store.#touched = new Set()
    else await store.#load()
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
      onDropped: (entry, reason) => entryEvicted(this.#removal, entry, reason),
    })
    this.#removal = { index: this.#index, deletions: this.#deletions, layout: this.#layout, options, log: logger }
    this.#verifier = new IndexVerifier({
      cacheDir: options.cacheDir,
      entries: () => [...this.#index.all()],
      concurrency: options.scanConcurrency,
      stillIndexed: (entry) => this.#index.peek(entry.key) === entry,
      dropStale: (entry, reason) => this.#dropStale(entry, reason),
      log: logger,
    })
    // Every claim and commit starts here: during a background scan that marks the key as the store's own.
    const settleDeletions = (key: string): Promise<void> => {
      this.#touched?.add(key)
      return this.#deletions.settled(key)
    }
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
      lowSpace: () => this.#lowSpace(Math.max(options.minFreeBytes, STORE_DEFAULTS.cutShortFreeBytesFloor)),
    }
  }

  /** What the start-up scan found and cleaned (for the start log and benchmarks); undefined until it ends. */
  get scanReport(): ScanReport | undefined {
    return this.#scanReport
  }

  /**
   * The state of the start-up scan: 'scanning' while a background scan waits for `startScan` or runs (lookups of keys it
   * has not indexed yet miss, and claim finds their files on disk: still a hit, one sidecar and
   * header read slower), 'failed' when it could not finish (what it did not index is still found
   * by claim), 'done' otherwise.
   */
  get indexing(): { readonly state: 'scanning' | 'done' | 'failed'; readonly error?: Error } {
    if (this.#scanError !== undefined) return { state: 'failed', error: this.#scanError }
    return { state: this.#touched === undefined ? 'done' : 'scanning' }
  }

  /** Resolves when the start-up scan has ended (at once unless it runs in the background); never rejects. */
  async indexed(): Promise<void> {
    await this.#scanning
  }

  /**
   * With `scanInBackground`: starts the scan (idempotent; a no-op otherwise or once closed).
   * `serve` calls it once its listeners are up, so the scan does not slow their start.
   */
  startScan(): void {
    if (this.#touched === undefined || this.#scanning !== undefined || this.#scanAbort.signal.aborted) return
    this.#scanning = this.#runBackgroundScan()
  }

  get cacheDir(): string {
    return this.#layout.cacheDir
  }

  /**
   * A hit: the indexed entry, only while its WAV is the file it was indexed from (one sync stat:
   * same size, device, inode, mtime). Otherwise the entry is dropped from the index (its files
   * are left alone: a peer may have put a new one there) and counted stale: the caller misses,
   * and the miss path renders it again or finds the new file.
   */
  lookup(key: string): CacheEntry | undefined {
    assertCacheKey(key)
    const entry = this.#index.get(key)
    if (entry === undefined) return undefined
    const stale = staleReasonOf(entry)
    if (stale === undefined) return entry
    this.#dropStale(entry, stale)
    if (stale === 'missing') this.#verifier.checkRoot()
    return undefined
  }

  peek(key: string): CacheEntry | undefined {
    assertCacheKey(key)
    return this.#index.peek(key)
  }

  /**
   * `lookup`, or when the index does not hold the key (or held a stale entry), a valid WAV of it
   * found on disk (another process rendered it; or the background scan has not come to it):
   * read, validated and indexed. Never renders nor waits for a lock.
   */
  async find(key: string): Promise<CacheEntry | undefined> {
    const hit = this.lookup(key)
    if (hit !== undefined) return hit
    await this.#deletions.settled(key)
    const read = await this.#claimHost.read(key)
    if (read.status !== 'ok' || this.#index.isExpired(read.entry)) return undefined
    this.#touched?.add(key)
    return this.#indexFound(read.entry)
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
    await pinEntry(this.#index, this.#layout, key, (k) => this.#touched?.add(k))
  }

  /**
   * The entry with its text from the sidecar; undefined when not cached. During a background
   * scan a key not indexed yet is looked for on disk (and indexed when found).
   */
  async describe(key: string): Promise<DescribedEntry | undefined> {
    assertCacheKey(key)
    let indexed = this.#index.peek(key)
    const stale = indexed === undefined ? undefined : staleReasonOf(indexed)
    if (indexed !== undefined && stale !== undefined) {
      this.#dropStale(indexed, stale)
      indexed = undefined
    }
    if (indexed === undefined && (this.#touched !== undefined || stale !== undefined)) {
      this.#touched?.add(key)
      const read = await this.#claimHost.read(key)
      if (read.status !== 'ok' || this.#index.isExpired(read.entry)) return undefined
      const found = this.#indexFound(read.entry)
      return { ...found, path: found.path, text: read.text }
    }
    if (indexed === undefined) return undefined
    const meta = await readSidecar(this.#layout, key).catch((err: unknown) => {
      throw storeIoError(err, 'read', this.#layout.sidecarPath(key))
    })
    // The text is part of the key: any valid sidecar of this key has the same one.
    return meta === undefined ? undefined : { ...indexed, path: indexed.path, text: meta.text }
  }

  /** Drops the entry from the index and deletes its files. True when there was something to remove. */
  async remove(key: string): Promise<boolean> {
    assertCacheKey(key)
    this.#touched?.add(key)
    const entry = this.#index.delete(key)
    const hadWav = await deleteEntryFiles(this.#removal, key)
    return entry !== undefined || hadWav
  }

  /** Removes every indexed entry (pinned ones included) matching all given fields; `{}` matches all. */
  async removeWhere(filter: EntryFilter): Promise<number> {
    // What a running scan has not indexed yet would escape the filter: wait for it.
    await this.indexed()
    return removeKeys(this.#removal, keysMatching(this.#index, filter))
  }

  /** Removes every indexed entry, pinned ones included. Locks and renders in progress are left alone. */
  async removeAll(): Promise<number> {
    await this.indexed()
    return removeKeys(this.#removal, [...this.#index.all()].map((e) => e.key))
  }

  /** Indexed, unexpired entries: pinned first, then most to least recently used. No recency change. */
  *entries(): IterableIterator<CacheEntry> {
    for (const entry of this.#index.all()) if (!this.#index.isExpired(entry)) yield entry
  }

  /** `entries`/`bytes` count the evictable (LRU) entries only; pinned ones are counted apart. */
  stats(): StoreStats {
    return { ...this.#index.stats(), maxBytes: this.#options.maxCacheBytes, stale: this.#stale.counts() }
  }

  /**
   * Checks every indexed entry against its file (async stats, `scanConcurrency` at a time) and
   * drops the stale ones. Runs by itself when the cache directory vanished or was replaced (a
   * lookup found a file missing, or `health()` looked); joins the check already running.
   */
  verifyIndex(): Promise<AuditReport> {
    return this.#verifier.verify()
  }

  /**
   * The cache directory's state for `/readyz`: `failed` when it cannot be written; `degraded`
   * when it vanished (deleted: renders make it again), was replaced since start (the index is
   * being checked), sits on another file system than at start (unmounted?), or has less free
   * space than `minFreeBytes` (new renders may fail with TTS_ERR_STORE_FULL; hits are served);
   * `ok` otherwise. Never throws.
   */
  async health(): Promise<StoreHealth> {
    return cacheDirHealth({
      dir: this.#layout.cacheDir,
      root: this.#verifier.root,
      entries: this.#index.stats().entries,
      options: this.#options,
      verifyIndex: () => void this.verifyIndex(),
      staleSummary: () => this.#verifier.summary(),
    })
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

  /**
   * Stops a background scan still running (what it indexed so far stays), stops watching
   * directories and waits for pending deletions. Claims still waiting fall back to polling.
   */
  async close(): Promise<void> {
    this.#scanAbort.abort(new Error('the store is closing'))
    await this.indexed()
    this.#touched = undefined
    this.#watchers.closeAll()
    await this.idle()
    await this.#registration?.release().catch((err: unknown) => this.#claimHost.logger.warn({ err }, 'cannot remove this service’s registration from the cache directory'))
  }

  /** Other services registered on this directory when this one opened (TTS_CACHE_SHARED); empty otherwise. */
  get peers(): readonly { readonly pid: number; readonly hostname: string }[] {
    return this.#registration?.peers ?? []
  }

  async #runBackgroundScan(): Promise<void> {
    const log = this.#claimHost.logger
    log.info({ cacheDir: this.#layout.cacheDir }, 'scanning the cache directory in the background; unindexed entries are read from disk meanwhile')
    try {
      await this.#load()
    } catch (err) {
      if (!this.#scanAbort.signal.aborted) {
        this.#scanError = err instanceof Error ? err : new Error(String(err))
        log.error({ err }, 'cache directory scan failed; entries it did not index are still found on disk when asked for')
      }
    } finally {
      this.#touched = undefined
      this.#scanning = undefined
    }
  }

  async #load(): Promise<void> {
    this.#scanReport = await scanIntoIndex({
      options: this.#options,
      layout: this.#layout,
      pool: this.#pool,
      index: this.#index,
      deletions: this.#deletions,
      touched: this.#touched,
      signal: this.#scanAbort.signal,
      log: this.#claimHost.logger,
    })
  }

  /** Drops an entry whose file changed behind us (files untouched), counted by reason. */
  #dropStale(entry: IndexedEntry, reason: StaleReason): void {
    if (this.#index.peek(entry.key) === entry) this.#index.delete(entry.key)
    this.#stale.record(entry, reason, this.#claimHost.logger)
  }

  /** The free space when below `minFreeBytes` (or the inode minimum); undefined when there is room or it cannot be read. */
  async #lowSpace(minFreeBytes: number): Promise<SpaceInfo | undefined> {
    try {
      const space = await this.#options.spaceReader(this.#layout.cacheDir)
      return isLow(space, minFreeBytes, STORE_DEFAULTS.minFreeInodes) ? space : undefined
    } catch (err) {
      this.#claimHost.logger.debug({ err }, 'cannot read the free space of the cache directory')
      return undefined
    }
  }

  #indexFound(entry: IndexedEntry): CacheEntry {
    const known = this.#index.peek(entry.key)
    // Already indexed with the same file: keep the indexed object (and its pinned state).
    if (known !== undefined && known.bytes === entry.bytes && known.createdAt === entry.createdAt) return known
    this.#index.add(entry)
    return entry
  }
}
