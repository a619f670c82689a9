/**
 * The scan stage of the disk store: index what a scan of the cache directory found (in the
 * foreground at open, or in the background for `serve`), cleaning crash leftovers.
 */
import type { Logger } from '../../core/ports/index.js'
import type { CacheIndex } from './cache-index.js'
import { removeEntryFiles } from './entry-files.js'
import { storeIoError } from './fs-util.js'
import type { KeyDeletions } from './key-deletions.js'
import type { CacheLayout } from './layout.js'
import type { ResolvedStoreOptions } from './options.js'
import { scanCacheDir, type ScanReport } from './scan.js'
import type { StringPool } from './string-pool.js'

export interface IndexLoadInput {
  readonly options: ResolvedStoreOptions
  readonly layout: CacheLayout
  readonly pool: StringPool
  readonly index: CacheIndex
  readonly deletions: KeyDeletions
  /** During a background scan: keys claimed, published, pinned or removed since it began (left alone). */
  readonly touched: Set<string> | undefined
  readonly signal: AbortSignal
  readonly log: Logger
}

export async function scanIntoIndex(input: IndexLoadInput): Promise<ScanReport> {
  const { options, layout, index, touched } = input
  let scanned: Awaited<ReturnType<typeof scanCacheDir>>
  try {
    scanned = await scanCacheDir({
      layout,
      pool: input.pool,
      staleLockMs: options.staleLockMs,
      concurrency: options.scanConcurrency,
      processes: options.scanProcesses,
      maxAgeMs: options.maxAgeMs,
      clock: options.clock,
      logger: input.log,
      signal: input.signal,
      // In the key's deletion order, so a claim started before waits for it and one started after is seen.
      removeEntry:
        touched === undefined
          ? undefined
          : (key) =>
              input.deletions.run(key, async () => {
                if (touched.has(key)) return false
                await removeEntryFiles(layout, key)
                return true
              }),
    })
  } catch (err) {
    throw storeIoError(err, 'scan', options.cacheDir)
  }
  const { entries, report } = scanned
  // Entries indexed while a background scan ran are newer than anything it read: set them
  // aside, so the scan's entries do not push them to the cold end, and put them back on top.
  const live = touched === undefined ? [] : [...index.all()]
  for (const entry of live) index.delete(entry.key)
  // Oldest first: the newest end up most recently used; over budget, the oldest go (and their files).
  for (const entry of entries) if (touched?.has(entry.key) !== true) index.add(entry)
  for (const entry of live.reverse()) index.add(entry)
  input.log.info({ ...report, indexed: index.stats() }, 'cache directory scanned')
  return report
}
