/**
 * The verify stage of the disk store: entries whose file changed behind the service (deleted,
 * truncated, replaced), counted by reason with a throttled warning, and the whole-index check
 * run when the cache directory vanished or was replaced.
 */
import type { Logger } from '../../core/ports/index.js'
import { forEachLimit } from './concurrency.js'
import { dirIdentity, type DirIdentity } from './dir-health.js'
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

export interface IndexVerifierOptions extends Omit<AuditInput, 'entries'> {
  readonly cacheDir: string
  /** The indexed entries now. */
  readonly entries: () => readonly IndexedEntry[]
}

/**
 * Watches for the cache directory vanishing or being replaced behind the service (a lookup found
 * a file missing, or `health()` looked) and then checks the whole index against the disk, one
 * check at a time.
 */
export class IndexVerifier {
  readonly #options: IndexVerifierOptions
  /** The cache directory as it was at open (or after the last check): a vanished or replaced one is noticed. */
  #root: DirIdentity | undefined
  /** The whole-index check, while it runs. */
  #audit: Promise<AuditReport> | undefined
  #lastAudit: AuditReport | undefined

  constructor(options: IndexVerifierOptions) {
    this.#options = options
  }

  /** The directory's identity at open (or after the last check). */
  get root(): DirIdentity | undefined {
    return this.#root
  }

  /** Takes the directory as it is now as the baseline (at open). Throws on stat errors other than absence. */
  captureRoot(): void {
    this.#root = dirIdentity(this.#options.cacheDir)
  }

  /** See DiskStore.verifyIndex: joins the check already running. */
  verify(): Promise<AuditReport> {
    this.#audit ??= this.#run().finally(() => {
      this.#audit = undefined
    })
    return this.#audit
  }

  /** After a missing file: is it the whole cache directory? Then check the whole index. */
  checkRoot(): void {
    if (this.#audit !== undefined) return
    let now: DirIdentity | undefined
    try {
      now = dirIdentity(this.#options.cacheDir)
    } catch {
      // Unreadable: health() reports it; lookups go on one by one.
      return
    }
    const root = this.#root
    if (now === undefined || root === undefined || now.ino !== root.ino || now.dev !== root.dev) void this.verify()
  }

  /** What the last check found, for the health detail ('' before any). */
  summary(): string {
    const last = this.#lastAudit
    return last === undefined ? '' : `Last check: ${last.stale} of ${last.checked} indexed entries were gone or changed.`
  }

  async #run(): Promise<AuditReport> {
    const options = this.#options
    // What the directory is as the check begins: the baseline from now on, if it exists (on the same file system).
    let root: DirIdentity | undefined
    try {
      root = dirIdentity(options.cacheDir)
    } catch {
      root = undefined
    }
    const report = await auditEntries({ ...options, entries: [...options.entries()] })
    if (root !== undefined && (this.#root === undefined || root.dev === this.#root.dev)) this.#root = root
    this.#lastAudit = report
    options.log.warn({ cacheDir: options.cacheDir, ...report }, 'the cache directory vanished or was replaced: checked every indexed entry against the disk')
    return report
  }
}
