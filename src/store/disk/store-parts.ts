/**
 * The disk store's parts wired together: the index, the layout, the deletions, the stale-entry
 * check, the start-up scan, and the hosts the claim and render-slot stages call back into.
 * DiskStore (disk-store.ts) is the AudioStore API over these parts.
 */
import type { Logger } from '../../core/ports/index.js'
import { CacheIndex } from './cache-index.js'
import type { ClaimHost } from './claim.js'
import { DirWatchers } from './dir-watcher.js'
import { isLow, type SpaceInfo } from './disk-space.js'
import { readEntry, type IndexedEntry } from './entry-files.js'
import { entryEvicted, type RemovalHost } from './entry-removal.js'
import { FileChecks, type StaleReason } from './file-identity.js'
import { scanIntoIndex } from './index-load.js'
import { IndexScan } from './index-scan.js'
import { KeyDeletions } from './key-deletions.js'
import { CacheLayout } from './layout.js'
import { STORE_DEFAULTS, type ResolvedStoreOptions } from './options.js'
import { DiskRenderSlot, type SlotHost } from './render-slot.js'
import { IndexVerifier, StaleEntries } from './stale-entries.js'
import { StringPool } from './string-pool.js'

export interface StoreParts {
  readonly options: ResolvedStoreOptions
  readonly log: Logger
  readonly layout: CacheLayout
  readonly index: CacheIndex
  readonly pool: StringPool
  readonly watchers: DirWatchers
  readonly deletions: KeyDeletions
  readonly removal: RemovalHost
  /** Entries found stale, by reason (see StaleReason), with their throttled warning. */
  readonly stale: StaleEntries
  /** Notices the cache directory vanishing or being replaced, and checks the whole index then. */
  readonly verifier: IndexVerifier
  /** Whether an indexed entry is still its file: a stat, once per entry per event-loop turn. */
  readonly checks: FileChecks
  readonly scan: IndexScan
  readonly claimHost: ClaimHost
  /** Drops an entry whose file changed behind us (files untouched), counted by reason. */
  dropStale(entry: IndexedEntry, reason: StaleReason): void
  /** Indexes an entry read from disk, or keeps the indexed one when it is the same file. */
  indexFound(entry: IndexedEntry): IndexedEntry
}

export function wireStoreParts(options: ResolvedStoreOptions): StoreParts {
  const log = options.logger.child({ component: 'store' })
  const layout = new CacheLayout(options.cacheDir)
  const deletions = new KeyDeletions()
  const pool = new StringPool()
  const stale = new StaleEntries()
  const index: CacheIndex = new CacheIndex({
    maxBytes: options.maxCacheBytes,
    maxAgeMs: options.maxAgeMs,
    clock: options.clock,
    // Called on evictions and expiries only, after the wiring below is done.
    onDropped: (entry, reason) => entryEvicted(removal, entry, reason),
  })
  const removal: RemovalHost = { index, deletions, layout, options, log }
  const dropStale = (entry: IndexedEntry, reason: StaleReason): void => {
    if (index.peek(entry.key) === entry) index.delete(entry.key)
    stale.record(entry, reason, log)
  }
  const indexFound = (entry: IndexedEntry): IndexedEntry => {
    const known = index.peek(entry.key)
    // Already indexed with the same file: keep the indexed object (and its pinned state).
    if (known !== undefined && known.bytes === entry.bytes && known.createdAt === entry.createdAt) return known
    index.add(entry)
    return entry
  }
  const verifier = new IndexVerifier({
    cacheDir: options.cacheDir,
    entries: () => [...index.all()],
    concurrency: options.scanConcurrency,
    stillIndexed: (entry) => index.peek(entry.key) === entry,
    dropStale,
    log,
  })
  const scan = new IndexScan((touched, signal) => scanIntoIndex({ options, layout, pool, index, deletions, touched, signal, log }), options.cacheDir, log)
  const watchers = new DirWatchers(log)
  const claimHost = claimHostOf({ options, log, layout, index, pool, watchers, deletions, scan, indexFound })
  return { options, log, layout, index, pool, watchers, deletions, removal, stale, verifier, checks: new FileChecks(), scan, claimHost, dropStale, indexFound }
}

type HostParts = Pick<StoreParts, 'options' | 'log' | 'layout' | 'index' | 'pool' | 'watchers' | 'deletions' | 'scan' | 'indexFound'>

/** What the claim stage (claim.ts) and the render slots it hands out (render-slot.ts) call back into. */
function claimHostOf(p: HostParts): ClaimHost {
  const { options, log, layout, index } = p
  // Every claim and commit starts here: during a background scan that marks the key as the store's own.
  const settleDeletions = (key: string): Promise<void> => {
    p.scan.touch(key)
    return p.deletions.settled(key)
  }
  const slotHost: SlotHost = {
    layout,
    clock: options.clock,
    logger: log,
    settleDeletions,
    isPinned: (key) => index.peek(key)?.pinned === true,
    published: (entry) => {
      index.add(entry)
      return entry
    },
    lowSpace: () => lowSpace(options, layout, log, Math.max(options.minFreeBytes, STORE_DEFAULTS.cutShortFreeBytesFloor)),
  }
  return {
    layout,
    watchers: p.watchers,
    logger: log,
    staleLockMs: options.staleLockMs,
    lockPollMs: options.lockPollMs,
    settleDeletions,
    settledNow: (key) => {
      p.scan.touch(key)
      return !p.deletions.pending(key)
    },
    read: (key) => readEntry(layout, key, p.pool),
    isExpired: (entry) => index.isExpired(entry),
    found: p.indexFound,
    slot: (key, owner) => new DiskRenderSlot(slotHost, key, owner),
  }
}

/** The free space when below `minFreeBytes` (or the inode minimum); undefined when there is room or it cannot be read. */
async function lowSpace(options: ResolvedStoreOptions, layout: CacheLayout, log: Logger, minFreeBytes: number): Promise<SpaceInfo | undefined> {
  try {
    const space = await options.spaceReader(layout.cacheDir)
    return isLow(space, minFreeBytes, STORE_DEFAULTS.minFreeInodes) ? space : undefined
  } catch (err) {
    log.debug({ err }, 'cannot read the free space of the cache directory')
    return undefined
  }
}
