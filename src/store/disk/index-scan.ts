/**
 * The state of the disk store's start-up scan: run in the foreground at open, or deferred and
 * run in the background (`serve`), while the store marks the keys it touches itself so the scan
 * leaves them alone. Holds the scan's report, its failure and the abort used by close.
 */
import type { Logger } from '../../core/ports/index.js'
import type { ScanReport } from './scan.js'

/** Runs one scan into the index; `touched` is the set of keys to leave alone (background scans only). */
export type RunScan = (touched: Set<string> | undefined, signal: AbortSignal) => Promise<ScanReport>

export type IndexingState = { readonly state: 'scanning' | 'done' | 'failed'; readonly error?: Error }

export class IndexScan {
  readonly #run: RunScan
  readonly #log: Logger
  readonly #cacheDir: string
  readonly #abort = new AbortController()
  #report: ScanReport | undefined
  /** The background scan, while it runs (settles, never rejects). */
  #scanning: Promise<void> | undefined
  #error: Error | undefined
  /** While a background scan waits or runs: keys claimed, published, pinned or removed since it began. */
  #touched: Set<string> | undefined

  constructor(run: RunScan, cacheDir: string, log: Logger) {
    this.#run = run
    this.#cacheDir = cacheDir
    this.#log = log
  }

  /** What the scan found and cleaned; undefined until it ends. */
  get report(): ScanReport | undefined {
    return this.#report
  }

  /** True from `defer` until the background scan ends: the index may not hold every entry on disk yet. */
  get pending(): boolean {
    return this.#touched !== undefined
  }

  get indexing(): IndexingState {
    if (this.#error !== undefined) return { state: 'failed', error: this.#error }
    return { state: this.#touched === undefined ? 'done' : 'scanning' }
  }

  /** Scans now (the foreground scan at open); throws what the scan throws. */
  async runNow(): Promise<void> {
    this.#report = await this.#run(this.#touched, this.#abort.signal)
  }

  /** The scan will run in the background (`start`); from now on the store marks the keys it touches. */
  defer(): void {
    this.#touched = new Set()
  }

  /** Marks a key as the store's own while a background scan waits or runs; a no-op otherwise. */
  touch(key: string): void {
    this.#touched?.add(key)
  }

  /** Starts the deferred scan (idempotent; a no-op when none is deferred or once closed). */
  start(): void {
    if (this.#touched === undefined || this.#scanning !== undefined || this.#abort.signal.aborted) return
    this.#scanning = this.#runInBackground()
  }

  /** Resolves when the scan has ended (at once when none runs); never rejects. */
  async ended(): Promise<void> {
    await this.#scanning
  }

  /** Stops a background scan still running (what it indexed so far stays) and waits for it. */
  async close(): Promise<void> {
    this.#abort.abort(new Error('the store is closing'))
    await this.ended()
    this.#touched = undefined
  }

  async #runInBackground(): Promise<void> {
    this.#log.info({ cacheDir: this.#cacheDir }, 'scanning the cache directory in the background; unindexed entries are read from disk meanwhile')
    try {
      await this.runNow()
    } catch (err) {
      if (!this.#abort.signal.aborted) {
        this.#error = err instanceof Error ? err : new Error(String(err))
        this.#log.error({ err }, 'cache directory scan failed; entries it did not index are still found on disk when asked for')
      }
    } finally {
      this.#touched = undefined
      this.#scanning = undefined
    }
  }
}
