/**
 * The in-memory index: an LRU sized in WAV bytes for ordinary entries, and a plain Map for
 * pinned ones (never evicted, never expired, outside the byte budget). Memory only: the
 * store deletes the files of what this drops.
 */
import type { Clock } from '../../core/ports/index.js'
import type { IndexedEntry } from './entry-files.js'
import { EntryLru } from './entry-lru.js'
import type { EvictReason } from './options.js'

export interface CacheIndexOptions {
  readonly maxBytes: number
  /** 0 disables expiry. */
  readonly maxAgeMs: number
  readonly clock: Clock
  /** An entry left on its own (budget or age). Called synchronously; must not throw. */
  readonly onDropped: (entry: IndexedEntry, reason: EvictReason) => void
}

export interface IndexStats {
  readonly entries: number
  readonly bytes: number
  readonly pinnedEntries: number
  readonly pinnedBytes: number
  readonly evictions: number
}

export class CacheIndex {
  readonly #lru: EntryLru<IndexedEntry>
  readonly #pinned = new Map<string, IndexedEntry>()
  readonly #options: CacheIndexOptions
  #pinnedBytes = 0
  #evictions = 0

  constructor(options: CacheIndexOptions) {
    this.#options = options
    // Only evictions drop files: a delete (removed, replaced or pinned on purpose) leaves them alone.
    this.#lru = new EntryLru<IndexedEntry>(options.maxBytes, (entry) => this.#dropped(entry, 'size'))
  }

  /** A hit refreshes recency. An expired entry is dropped (reported as 'expired') and misses. */
  get(key: string): IndexedEntry | undefined {
    const pinned = this.#pinned.get(key)
    if (pinned !== undefined) return pinned
    const entry = this.#lru.get(key)
    if (entry === undefined || !this.isExpired(entry)) return entry
    this.#lru.delete(key)
    this.#dropped(entry, 'expired')
    return undefined
  }

  /** No recency change, no side effect; an expired entry reads as absent. */
  peek(key: string): IndexedEntry | undefined {
    const entry = this.#pinned.get(key) ?? this.#lru.peek(key)
    return entry === undefined || this.isExpired(entry) ? undefined : entry
  }

  /** Like peek, but expired entries too (what is on disk under our name). */
  has(key: string): boolean {
    return this.#pinned.has(key) || this.#lru.has(key)
  }

  isExpired(entry: Pick<IndexedEntry, 'pinned' | 'createdAt'>): boolean {
    const { maxAgeMs, clock } = this.#options
    return maxAgeMs > 0 && !entry.pinned && clock.now() - entry.createdAt > maxAgeMs
  }

  /**
   * Indexes an entry as most recently used, replacing any entry of the same key. An unpinned
   * entry bigger than the whole budget cannot stay: it is reported dropped for 'size' at once.
   */
  add(entry: IndexedEntry): void {
    this.delete(entry.key)
    if (entry.pinned) {
      this.#pinned.set(entry.key, entry)
      this.#pinnedBytes += entry.bytes
    } else if (Math.max(1, entry.bytes) > this.#options.maxBytes) {
      this.#dropped(entry, 'size')
    } else {
      this.#lru.set(entry)
    }
  }

  /** Removes the entry from memory (files untouched); returns it, expired or not. */
  delete(key: string): IndexedEntry | undefined {
    const pinned = this.#pinned.get(key)
    if (pinned !== undefined) {
      this.#pinned.delete(key)
      this.#pinnedBytes -= pinned.bytes
      return pinned
    }
    return this.#lru.delete(key)
  }

  /** Every indexed entry (expired ones too): pinned first, then most to least recently used. Recency unchanged. */
  *all(): IterableIterator<IndexedEntry> {
    yield* this.#pinned.values()
    yield* this.#lru.values()
  }

  stats(): IndexStats {
    return {
      // Totals; the pinned ones are a subset (outside the byte budget, never evicted).
      entries: this.#lru.size + this.#pinned.size,
      bytes: this.#lru.calculatedSize + this.#pinnedBytes,
      pinnedEntries: this.#pinned.size,
      pinnedBytes: this.#pinnedBytes,
      evictions: this.#evictions,
    }
  }

  #dropped(entry: IndexedEntry, reason: EvictReason): void {
    this.#evictions++
    this.#options.onDropped(entry, reason)
  }
}
