/**
 * The verify stage of the disk store: entries whose file changed behind the service (deleted,
 * truncated, replaced), counted by reason with a throttled warning, and the whole-index check
 * run when the cache directory vanished or was replaced.
 */
import type { Logger } from '../../core/ports/index.js'
import { forEachLimit } from './concurrency.js'
import type { IndexedEntry } from './entry-files.js'
import { STALE_REASONS, staleReasonOfAsync, type StaleReason } from './file-identity.js'

/** At most one stale-entry warning per this many ms (the rest are counted in the next line and in the metric). */
const STALE_LOG_INTERVAL_MS = 10_000

/** What `verifyIndex` found. */
export interface AuditReport {
  readonly checked: number
  readonly stale: number
  readonly byReason: Readonly<Record<StaleReason, number>>
  readonly durationMs: number
}

/** Counts stale entries by reason and logs them, throttled: a removed directory would log one per hit. */
export class StaleEntries {
  readonly #counts: Record<StaleReason, number> = { missing: 0, size: 0, replaced: 0, unreadable: 0 }
  #log = { at: -Infinity, suppressed: 0 }

  counts(): Readonly<Record<StaleReason, number>> {
    return { ...this.#counts }
  }

  record(entry: IndexedEntry, reason: StaleReason, log: Logger): void {
    this.#counts[reason]++
    const now = performance.now()
    if (now - this.#log.at < STALE_LOG_INTERVAL_MS) {
      this.#log.suppressed++
      return
    }
    const suppressed = this.#log.suppressed
    this.#log = { at: now, suppressed: 0 }
    log.warn(
      { key: entry.key, reason, path: entry.path, ...(suppressed > 0 ? { suppressedSinceLast: suppressed } : {}) },
      'cached file changed behind the service (deleted, truncated or replaced): dropped from the index, rendered again on demand',
    )
  }
}

export interface AuditInput {
  readonly entries: readonly IndexedEntry[]
  readonly concurrency: number
  /** Whether the index still holds this very entry (not a newer render of the key). */
  readonly stillIndexed: (entry: IndexedEntry) => boolean
  readonly dropStale: (entry: IndexedEntry, reason: StaleReason) => void
  readonly log: Logger
}

/** Checks every entry against its file (async stats, `concurrency` at a time) and drops the stale ones. */
export async function auditEntries(input: AuditInput): Promise<AuditReport> {
  const started = performance.now()
  const found: Record<StaleReason, number> = { missing: 0, size: 0, replaced: 0, unreadable: 0 }
  try {
    await forEachLimit(input.entries, input.concurrency, async (entry) => {
      const reason = await staleReasonOfAsync(entry)
      if (reason === undefined || !input.stillIndexed(entry)) return
      found[reason]++
      input.dropStale(entry, reason)
    })
  } catch (err) {
    input.log.error({ err }, 'checking the index against the cache directory failed')
  }
  return {
    checked: input.entries.length,
    stale: STALE_REASONS.reduce((sum, r) => sum + found[r], 0),
    byReason: found,
    durationMs: Math.round(performance.now() - started),
  }
}
