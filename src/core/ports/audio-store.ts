import type { RenderedAudio } from './renderer.js'

/** Sidecar metadata of one cached WAV (`<key>.json`). */
export interface EntryMeta {
  readonly key: string
  readonly text: string
  readonly voice: string
  readonly engine: string
  readonly engineVersion: string
  readonly sampleRate: number
  readonly format: string
  readonly bytes: number
  readonly durationMs: number
  /** ms since epoch. */
  readonly createdAt: number
  readonly pinned: boolean
}

/**
 * An entry the store can serve: its metadata, without the text (kept in the sidecar only: an
 * index of 100k entries would hold every sentence in memory; `AudioStore.describe` reads it),
 * plus the absolute WAV path.
 */
export interface CacheEntry extends Omit<EntryMeta, 'text'> {
  readonly path: string
}

/** A cache entry with its text, read from its sidecar. */
export interface DescribedEntry extends CacheEntry {
  readonly text: string
}

/**
 * The right to render one key: a temp path in the key's final directory, held under a
 * per-key lock file (so other processes on the same cache dir wait instead of rendering).
 */
export interface RenderSlot {
  readonly key: string
  /** Where the renderer must write the WAV. Same directory as the final file. */
  readonly tempPath: string
  /**
   * Validate the temp file, fsync it, write the sidecar atomically, rename the WAV into place
   * (the publication point: whoever sees the WAV can read its sidecar), fsync the directory,
   * index it, unlock.
   */
  commit(meta: Omit<EntryMeta, 'key' | 'bytes' | 'durationMs' | 'createdAt'>, audio: RenderedAudio): Promise<CacheEntry>
  /** Remove the temp file and the lock. Safe to call more than once, and after commit. */
  release(): Promise<void>
  /**
   * The error to report for a render into `tempPath` that failed with `err`: the store's own
   * (e.g. TTS_ERR_STORE_FULL when the output was cut short because the disk is full) or `err`
   * itself. Optional; never throws.
   */
  explainFailure?(err: unknown): Promise<unknown>
}

export type ClaimResult =
  /** The WAV was already on disk (e.g. rendered by another process earlier): a hit. */
  | { readonly state: 'exists'; readonly entry: CacheEntry }
  /** Another process held the lock and published the WAV while we waited. */
  | { readonly state: 'published-by-peer'; readonly entry: CacheEntry }
  /** We own the render. */
  | { readonly state: 'owned'; readonly slot: RenderSlot }

export interface ClaimOptions {
  readonly signal?: AbortSignal | undefined
  readonly replace?: boolean | undefined
}

/** Entries matching every given field; `{}` matches all. */
export interface EntryFilter {
  readonly voice?: string
  readonly engine?: string
  /** `false`: unpinned entries only; `true`: pinned ones only; absent: both. */
  readonly pinned?: boolean
}

export interface StoreStats {
  /** All indexed entries, pinned ones included. */
  readonly entries: number
  /** WAV bytes of all indexed entries, pinned ones included. */
  readonly bytes: number
  /** The pinned subset: never evicted or expired, and outside the `maxBytes` budget. */
  readonly pinnedEntries: number
  readonly pinnedBytes: number
  readonly maxBytes: number
  readonly evictions: number
  /**
   * Index entries found not to match their file any more (deleted, truncated, replaced behind the
   * store), by reason: dropped from the index and answered as misses. Optional (stores that never
   * see their files change behind them).
   */
  readonly stale?: Readonly<Record<string, number>>
}

/** Content-addressed audio store with an in-memory index. */
export interface AudioStore {
  /**
   * A hit: the indexed entry, refreshing recency, only while its file is on disk as indexed (the
   * disk store stats it: same size, same file). An entry whose file was deleted, truncated or
   * replaced behind the store is dropped and misses (the miss path renders it again or finds the
   * new file). Never reads the audio.
   */
  lookup(key: string): CacheEntry | undefined
  /** The indexed entry, without refreshing recency and without checking its file. */
  peek(key: string): CacheEntry | undefined
  /**
   * Like lookup, and when the index does not hold the key, looks on disk for a valid WAV of it
   * (another process may have rendered it) and indexes it. Never renders, never waits for a lock.
   */
  find(key: string): Promise<CacheEntry | undefined>
  /**
   * The entry with its text (read from disk), without refreshing recency; undefined when the
   * key is not cached. Also finds an entry a background scan has not indexed yet.
   */
  describe(key: string): Promise<DescribedEntry | undefined>
  /**
   * Check the disk for the key, or take its render lock; waits (abortably) while another
   * process renders it. With `replace`, an existing WAV does not count: the caller gets the
   * slot and its commit atomically replaces the old file (a forced re-render).
   */
  claim(key: string, options?: ClaimOptions): Promise<ClaimResult>
  /** Mark an entry as pinned (never evicted). */
  pin(key: string): Promise<void>
  remove(key: string): Promise<boolean>
  removeWhere(filter: EntryFilter): Promise<number>
  /** How many entries `removeWhere(filter)` would remove now (removes nothing). */
  countWhere(filter: EntryFilter): Promise<number>
  removeAll(): Promise<number>
  entries(): Iterable<CacheEntry>
  stats(): StoreStats
  /** Absolute path the WAV of `key` would have (whether or not it exists). */
  pathFor(key: string): string
}
