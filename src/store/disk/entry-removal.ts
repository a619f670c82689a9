/**
 * The eviction/removal stage of the disk store: entries leave the index at once (in memory),
 * their files go in each key's deletion order (a claim started before waits for it).
 */
import type { EntryFilter, Logger } from '../../core/ports/index.js'
import type { CacheIndex } from './cache-index.js'
import { forEachLimit } from './concurrency.js'
import { removeEntryFiles, type IndexedEntry } from './entry-files.js'
import { storeIoError } from './fs-util.js'
import type { KeyDeletions } from './key-deletions.js'
import type { CacheLayout } from './layout.js'
import type { EvictReason, ResolvedStoreOptions } from './options.js'

export interface RemovalHost {
  readonly index: CacheIndex
  readonly deletions: KeyDeletions
  readonly layout: CacheLayout
  readonly options: Pick<ResolvedStoreOptions, 'scanConcurrency' | 'onEvict'>
  readonly log: Logger
}

/** Deletes the key's files in its deletion order. True when there was a WAV. */
export function deleteEntryFiles(host: RemovalHost, key: string): Promise<boolean> {
  return host.deletions.run(key, () => removeEntryFiles(host.layout, key))
}

/** Drops the keys from the index, then deletes their files (`scanConcurrency` at a time). */
export async function removeKeys(host: RemovalHost, keys: readonly string[]): Promise<number> {
  for (const key of keys) host.index.delete(key)
  try {
    await forEachLimit(keys, host.options.scanConcurrency, async (key) => {
      await deleteEntryFiles(host, key)
    })
  } catch (err) {
    throw storeIoError(err, 'remove entries under', host.layout.cacheDir)
  }
  return keys.length
}

/** The keys of indexed entries matching every given field of `filter` (`{}` matches all). */
export function keysMatching(index: CacheIndex, filter: EntryFilter): string[] {
  const keys: string[] = []
  for (const e of index.all()) {
    if (filter.voice !== undefined && e.voice !== filter.voice) continue
    if (filter.engine !== undefined && e.engine !== filter.engine) continue
    if (filter.pinned !== undefined && e.pinned !== filter.pinned) continue
    keys.push(e.key)
  }
  return keys
}

/** The index evicted or expired an entry: delete its files in the background and tell `onEvict`. */
export function entryEvicted(host: RemovalHost, entry: IndexedEntry, reason: EvictReason): void {
  const log = host.log
  log.debug({ key: entry.key, bytes: entry.bytes, reason }, 'evicting cache entry')
  deleteEntryFiles(host, entry.key).catch((err: unknown) => log.error({ err, key: entry.key, reason }, 'cannot delete evicted entry'))
  try {
    host.options.onEvict?.(entry, reason)
  } catch (err) {
    log.error({ err, key: entry.key }, 'onEvict hook threw')
  }
}
