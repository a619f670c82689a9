/**
 * The purge policy shared by `tts-cache purge` and `DELETE /v1/cache`: pinned entries stay
 * unless the caller asks for them, and a dry run counts without removing anything.
 */
import type { AudioStore, EntryFilter } from './ports/index.js'

export interface PurgeRequest {
  /** voice and/or engine; `{}` is everything (the caller has checked that was asked for). */
  readonly filter: Omit<EntryFilter, 'pinned'>
  /** Remove matching pinned entries too (default: keep them). */
  readonly includePinned: boolean
  /** Count only: remove nothing. */
  readonly dryRun: boolean
}

export interface PurgeResult {
  readonly dryRun: boolean
  /** Entries removed (0 on a dry run). */
  readonly removed: number
  /** On a dry run: the entries a purge would remove now. */
  readonly wouldRemove?: number
  /** Matching pinned entries left in place (0 with `includePinned`). */
  readonly keptPinned: number
}

/** Purges (or, on a dry run, counts) the entries matching `filter`. */
export async function purgeEntries(store: AudioStore, request: PurgeRequest): Promise<PurgeResult> {
  const target: EntryFilter = request.includePinned ? request.filter : { ...request.filter, pinned: false }
  const keptPinned = request.includePinned ? 0 : await store.countWhere({ ...request.filter, pinned: true })
  if (request.dryRun) return { dryRun: true, removed: 0, wouldRemove: await store.countWhere(target), keptPinned }
  return { dryRun: false, removed: await store.removeWhere(target), keptPinned }
}
