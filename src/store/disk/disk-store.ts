/**
 * The disk audio store: WAVs under `<cacheDir>/<k[0..2]>/<k[2..4]>/<key>.wav` with a JSON
 * sidecar, an in-memory index (LRU by bytes, pinned entries apart) rebuilt by a scan at
 * open, and cross-process render locks. A hit is one stat of its WAV (file-identity.ts; one per
 * entry per event-loop turn): the disk is trusted over memory. The parts are wired in
 * store-parts.ts; this is the AudioStore API over them.
 */
import fs from 'node:fs/promises'
import type { AudioStore, CacheEntry, ClaimOptions, ClaimResult, DescribedEntry, EntryFilter, StoreStats } from '../../core/ports/index.js'
import { claimKey } from './claim.js'
import { cacheDirHealth, type StoreHealth } from './dir-health.js'
import { describeEntry } from './describe-entry.js'
import { deleteEntryFiles, keysMatching, removeKeys } from './entry-removal.js'
import { storeIoError } from './fs-util.js'
import type { IndexingState } from './index-scan.js'
import { pinEntry } from './pin-entry.js'
import { assertCacheKey } from './layout.js'
import { resolveStoreOptions, type DiskStoreOptions } from './options.js'
import type { ScanReport } from './scan.js'
import { ServiceRegistration } from './service-registry.js'
import type { AuditReport } from './stale-entries.js'
import { wireStoreParts, type StoreParts } from './store-parts.js'

export type { AuditReport, StoreHealth }

export class DiskStore implements AudioStore {
  readonly #p: StoreParts
  /** This service's registration in the directory (`service` option), released by close. */
  #registration: ServiceRegistration | undefined

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
    const store = new DiskStore(wireStoreParts(resolved))
    store.#registration = registration
    store.#p.verifier.captureRoot()
    if (resolved.scanInBackground) store.#p.scan.defer()
    else await store.#p.scan.runNow()
    return store
  }

  private constructor(parts: StoreParts) {
    this.#p = parts
  }

  /** What the start-up scan found and cleaned (for the start log and benchmarks); undefined until it ends. */
  get scanReport(): ScanReport | undefined {
    return this.#p.scan.report
  }

  /**
   * The state of the start-up scan: 'scanning' while a background scan waits for `startScan` or runs (lookups of keys it
   * has not indexed yet miss, and claim finds their files on disk: still a hit, one sidecar and
   * header read slower), 'failed' when it could not finish (what it did not index is still found
   * by claim), 'done' otherwise.
   */
  get indexing(): IndexingState {
    return this.#p.scan.indexing
  }

  /** Resolves when the start-up scan has ended (at once unless it runs in the background); never rejects. */
  indexed(): Promise<void> {
    return this.#p.scan.ended()
  }

  /**
   * With `scanInBackground`: starts the scan (idempotent; a no-op otherwise or once closed).
   * `serve` calls it once its listeners are up, so the scan does not slow their start.
   */
  startScan(): void {
    this.#p.scan.start()
  }

  get cacheDir(): string {
    return this.#p.layout.cacheDir
  }

  /**
   * A hit: the indexed entry, only while its WAV is the file it was indexed from (a sync stat,
   * shared by the lookups of one turn of the event loop: same size, device, inode, mtime).
   * Otherwise the entry is dropped from the index (its files are left alone: a peer may have put
   * a new one there) and counted stale: the caller misses, and the miss path renders it again or
   * finds the new file.
   */
  lookup(key: string): CacheEntry | undefined {
    assertCacheKey(key)
    const entry = this.#p.index.get(key)
    if (entry === undefined) return undefined
    const stale = this.#p.checks.staleReasonOf(entry)
    if (stale === undefined) return entry
    this.#p.dropStale(entry, stale)
    if (stale === 'missing') this.#p.verifier.checkRoot()
    return undefined
  }

  peek(key: string): CacheEntry | undefined {
    assertCacheKey(key)
    return this.#p.index.peek(key)
  }

  /**
   * `lookup`, or when the index does not hold the key (or held a stale entry), a valid WAV of it
   * found on disk (another process rendered it; or the background scan has not come to it):
   * read, validated and indexed. Never renders nor waits for a lock.
   */
  async find(key: string): Promise<CacheEntry | undefined> {
    const hit = this.lookup(key)
    if (hit !== undefined) return hit
    await this.#p.deletions.settled(key)
    const read = await this.#p.claimHost.read(key)
    if (read.status !== 'ok' || this.#p.index.isExpired(read.entry)) return undefined
    this.#p.scan.touch(key)
    return this.#p.indexFound(read.entry)
  }

  claim(key: string, options: ClaimOptions = {}): Promise<ClaimResult> {
    try {
      assertCacheKey(key)
    } catch (err) {
      return Promise.reject(err)
    }
    return claimKey(this.#p.claimHost, key, options)
  }

  /**
   * Pins an indexed entry: out of the LRU (never evicted nor expired), sidecar rewritten with
   * `pinned: true` so a restart keeps it. TTS_ERR_NOT_FOUND when the key is not indexed.
   */
  async pin(key: string): Promise<void> {
    assertCacheKey(key)
    await pinEntry(this.#p.index, this.#p.layout, key, (k) => this.#p.scan.touch(k))
  }

  /**
   * The entry with its text from the sidecar; undefined when not cached. During a background
   * scan a key not indexed yet is looked for on disk (and indexed when found).
   */
  async describe(key: string): Promise<DescribedEntry | undefined> {
    assertCacheKey(key)
    return describeEntry(this.#p, key)
  }

  /** Drops the entry from the index and deletes its files. True when there was something to remove. */
  async remove(key: string): Promise<boolean> {
    assertCacheKey(key)
    this.#p.scan.touch(key)
    const entry = this.#p.index.delete(key)
    const hadWav = await deleteEntryFiles(this.#p.removal, key)
    return entry !== undefined || hadWav
  }

  /** Removes every indexed entry matching all given fields (`pinned` absent: pinned ones too); `{}` matches all. */
  async removeWhere(filter: EntryFilter): Promise<number> {
    // What a running scan has not indexed yet would escape the filter: wait for it (countWhere too).
    await this.indexed()
    return removeKeys(this.#p.removal, keysMatching(this.#p.index, filter))
  }

  /** What `removeWhere(filter)` would remove now, after the scan too (a purge's dry run). */
  async countWhere(filter: EntryFilter): Promise<number> {
    return this.indexed().then(() => keysMatching(this.#p.index, filter).length)
  }

  /** Removes every indexed entry, pinned ones included. Locks and renders in progress are left alone. */
  async removeAll(): Promise<number> {
    await this.indexed()
    return removeKeys(this.#p.removal, [...this.#p.index.all()].map((e) => e.key))
  }

  /** Indexed, unexpired entries: pinned first, then most to least recently used. No recency change. */
  *entries(): IterableIterator<CacheEntry> {
    for (const entry of this.#p.index.all()) if (!this.#p.index.isExpired(entry)) yield entry
  }

  /** `entries`/`bytes` count the evictable (LRU) entries only; pinned ones are counted apart. */
  stats(): StoreStats {
    return { ...this.#p.index.stats(), maxBytes: this.#p.options.maxCacheBytes, stale: this.#p.stale.counts() }
  }

  /**
   * Checks every indexed entry against its file (async stats, `scanConcurrency` at a time) and
   * drops the stale ones. Runs by itself when the cache directory vanished or was replaced (a
   * lookup found a file missing, or `health()` looked); joins the check already running.
   */
  verifyIndex(): Promise<AuditReport> {
    return this.#p.verifier.verify()
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
      dir: this.#p.layout.cacheDir,
      root: this.#p.verifier.root,
      entries: this.#p.index.stats().entries,
      options: this.#p.options,
      verifyIndex: () => void this.verifyIndex(),
      staleSummary: () => this.#p.verifier.summary(),
    })
  }

  pathFor(key: string): string {
    assertCacheKey(key)
    return this.#p.layout.wavPath(key)
  }

  /**
   * Resolves when the file deletions started so far (evictions, expiries) are done. Lookups
   * and commits evict synchronously in memory; their files go in the background.
   */
  idle(): Promise<void> {
    return this.#p.deletions.idle()
  }

  /**
   * Stops a background scan still running (what it indexed so far stays), stops watching
   * directories and waits for pending deletions. Claims still waiting fall back to polling.
   */
  async close(): Promise<void> {
    await this.#p.scan.close()
    this.#p.watchers.closeAll()
    await this.idle()
    await this.#registration?.release().catch((err: unknown) => this.#p.log.warn({ err }, 'cannot remove this service’s registration from the cache directory'))
  }

  /** Other services registered on this directory when this one opened (TTS_CACHE_SHARED); empty otherwise. */
  get peers(): readonly { readonly pid: number; readonly hostname: string }[] {
    return this.#registration?.peers ?? []
  }
}
