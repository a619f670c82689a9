/**
 * Is an index entry still the file on disk? Every hit asks (DiskStore.lookup, through
 * FileChecks): one `stat` of the WAV, compared with the size and identity (`fileTagOf`: device,
 * inode, mtime) the entry was made from. A synchronous stat on purpose: ~2 µs with the dentry
 * cached (measured, see docs/architecture.md "Hit path"), against a thread-pool round trip for
 * an async one.
 */
import fs from 'node:fs'
import type { IndexedEntry } from './entry-files.js'
import { errnoCode } from './fs-util.js'
import { fileTagOf } from './scan-worker.js'

/**
 * Why an indexed entry no longer matches its file:
 * - `missing`: no file at its path (deleted, purged by another process, its directory removed);
 * - `size`: a file of another length (truncated, or written in place);
 * - `replaced`: the same length but another file (renamed over it: a peer's render) or another
 *   modification time (rewritten in place, touched), or not a regular file;
 * - `unreadable`: stat failed otherwise (EACCES, EIO…): FreeSWITCH could not read it either.
 */
export type StaleReason = 'missing' | 'size' | 'replaced' | 'unreadable'

export const STALE_REASONS: readonly StaleReason[] = Object.freeze(['missing', 'size', 'replaced', 'unreadable'])

/** undefined while the entry's WAV is the very file it was made from; otherwise why not. */
export function staleReasonOf(entry: IndexedEntry): StaleReason | undefined {
  let stat: fs.Stats | undefined
  try {
    stat = fs.statSync(entry.path, { throwIfNoEntry: false })
  } catch (err) {
    // ENOTDIR: a path component is no longer a directory.
    return errnoCode(err) === 'ENOTDIR' ? 'missing' : 'unreadable'
  }
  if (stat === undefined) return 'missing'
  if (stat.size !== entry.bytes) return 'size'
  if (!stat.isFile() || fileTagOf(stat.dev, stat.ino, stat.mtimeMs) !== entry.fileTag) return 'replaced'
  return undefined
}

/** The same check without blocking (the whole-index audit after the cache directory vanished). */
export async function staleReasonOfAsync(entry: IndexedEntry): Promise<StaleReason | undefined> {
  let stat: fs.Stats
  try {
    stat = await fs.promises.stat(entry.path)
  } catch (err) {
    const code = errnoCode(err)
    return code === 'ENOENT' || code === 'ENOTDIR' ? 'missing' : 'unreadable'
  }
  if (stat.size !== entry.bytes) return 'size'
  if (!stat.isFile() || fileTagOf(stat.dev, stat.ino, stat.mtimeMs) !== entry.fileTag) return 'replaced'
  return undefined
}

/**
 * `staleReasonOf` once per entry per turn of the event loop: the hits of one file answered in
 * the same turn (a burst read from many sockets at once) share the stat the first of them made,
 * in that turn, after all of them had arrived (their bytes were read in this turn). The next
 * turn stats again, so a file deleted, truncated or replaced behind the store is noticed by the
 * first hit after the turn in which it changed, as with a stat per hit. Only a match is
 * remembered; a stale entry is dropped by the caller. Under load the stat, a system call, was
 * the largest cost of a hit after the body's write (issue 19, goal 1).
 */
export class FileChecks {
  /** Entries found to match their file in this turn. */
  readonly #matched = new Set<IndexedEntry>()
  #forgetting = false
  readonly #forget = (): void => {
    this.#matched.clear()
    this.#forgetting = false
  }

  staleReasonOf(entry: IndexedEntry): StaleReason | undefined {
    if (this.#matched.has(entry)) return undefined
    const stale = staleReasonOf(entry)
    if (stale !== undefined) return stale
    this.#matched.add(entry)
    if (!this.#forgetting) {
      this.#forgetting = true
      // The check phase of this very turn: after its I/O callbacks (and their microtasks), before the next poll.
      setImmediate(this.#forget).unref()
    }
    return undefined
  }
}
