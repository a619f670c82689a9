import { readFile } from 'node:fs/promises'
import type { ServerResponse } from 'node:http'
import { LRUCache } from 'lru-cache'
import type { CacheEntry } from '../core/ports/index.js'
import { etagFor } from './conditional-request.js'

/** Cached audio never changes under its key: let every cache keep it for a year. */
export const IMMUTABLE_CACHE_CONTROL = 'public, max-age=31536000, immutable'
export const WAV_CONTENT_TYPE = 'audio/wav'

/** A WAV in memory with what a full (200) response of it always says, computed once. */
export interface HotFile {
  /** The index entry the bytes were read for: a refresh or re-render makes a new one. */
  readonly entry: CacheEntry
  readonly bytes: Buffer
  /** ETag, Cache-Control, Accept-Ranges as a flat [name, value, …] list (Node's raw header form). */
  readonly head: readonly string[]
  /** Content-Type and Content-Length of the whole file, flat, after X-TTS-Cache. */
  readonly body: readonly string[]
}

/**
 * The whole of `file` as a 200 (no body for HEAD): one `writeHead` of a raw header list and one
 * `end` of the bytes, which Node writes in one writev. `raw` holds the headers to lead with (as
 * [name, value, …]); the file's precomputed ones and X-TTS-Cache (when given) are appended to it
 * in place. The only writer of a whole in-memory hit: Fastify's route (sendWholeHotFile) and the
 * hit listener both answer through it, so their answers are the same bytes.
 */
export function writeWholeHotFile(res: ServerResponse, method: string | undefined, raw: string[], file: HotFile, cacheStatus: string | undefined): void {
  raw.push(...file.head)
  if (cacheStatus !== undefined) raw.push('x-tts-cache', cacheStatus)
  raw.push(...file.body)
  res.writeHead(200, raw)
  if (method === 'HEAD' || file.bytes.length === 0) res.end()
  else res.end(file.bytes)
}

export interface HotAudioOptions {
  /** Memory budget for file bytes; 0 turns the cache off. */
  readonly maxBytes: number
  /** Files larger than this are always streamed from disk. */
  readonly maxFileBytes: number
}

/**
 * The bytes of the WAVs HTTP serves most, in memory: a hit then costs no open, fstat, read or
 * close (together about half of a hit's CPU when streamed from disk, by profile). Bounded in
 * bytes (lru-cache), small files only. Each copy keeps its response headers, computed once.
 *
 * Never stale: each copy remembers the store's index entry (TtsResult.entry) it was read for, and
 * is used only while that is still the entry the index answers with. A refresh, purge, eviction
 * or re-render replaces or drops the entry object, so the next hit reads the file again; and so
 * does a file deleted, truncated or replaced behind the store: every lookup stats the file and
 * drops an entry that no longer matches it (DiskStore.lookup), so these bytes are never served
 * for a file that is gone or changed. Bytes read at another length than the entry's are neither
 * kept nor served.
 *
 * One read per entry however many ask at once: the callers waiting on one render (coalesced)
 * all come for the same new entry together, and share one read of it.
 *
 * Kept only once asked for again (admission): a file read for one caller is served from that
 * read and dropped, and remembered by key only (`#seen`, about one key per 64 KiB of the
 * budget); the next read of it while remembered, or a read several callers shared, keeps it. A
 * file asked for once in a while thus never pushes out one asked for all the time (a plain LRU
 * let each file of a long tail evict a hot one, read again at its next hit), and a read served
 * once dies young. Its RSS is the same as a plain LRU's under the k6 mixed load (the budget
 * fills either way).
 */
export class HotAudio {
  readonly #cache: LRUCache<string, HotFile> | undefined
  /** Keys read once lately and not kept (their next read keeps them). */
  readonly #seen: LRUCache<string, true> | undefined
  readonly #maxFileBytes: number
  /** Reads in progress, by entry (an entry object names one file version), and whether another caller joined. */
  readonly #loading = new Map<CacheEntry, { readonly file: Promise<HotFile | undefined>; shared: boolean }>()
  #reads = 0

  constructor(options: HotAudioOptions) {
    this.#maxFileBytes = options.maxFileBytes
    if (options.maxBytes <= 0) return
    this.#cache = new LRUCache<string, HotFile>({ maxSize: options.maxBytes, sizeCalculation: (file) => Math.max(1, file.bytes.length) })
    this.#seen = new LRUCache<string, true>({ max: Math.max(SEEN_KEYS_MIN, Math.ceil(options.maxBytes / SEEN_BYTES_PER_KEY)) })
  }

  /** Files read into memory so far (one per entry, however many callers asked for it at once). */
  get reads(): number {
    return this.#reads
  }

  /** The bytes (and headers) for this entry if they are in memory and still current. */
  get(entry: CacheEntry): HotFile | undefined {
    const hot = this.#cache?.get(entry.key)
    if (hot === undefined) return undefined
    if (hot.entry === entry) return hot
    this.#cache?.delete(entry.key)
    return undefined
  }

  /**
   * Reads the entry's file into memory when it fits (the caller then serves the bytes), and keeps
   * it when asked for before (see the class comment); callers asking for the same entry while it
   * is being read share that read. undefined when it does not fit or the cache is off: stream it
   * instead. Rejects like readFile (ENOENT when the file is gone). The bytes may be another
   * length than the entry's (changed since the lookup): then they are not kept, and the caller
   * must not send them.
   */
  load(entry: CacheEntry): Promise<HotFile | undefined> {
    if (this.#cache === undefined || entry.bytes > this.#maxFileBytes) return Promise.resolve(undefined)
    const joined = this.#loading.get(entry)
    if (joined !== undefined) {
      joined.shared = true
      return joined.file
    }
    const loading = { file: this.#read(entry).finally(() => this.#loading.delete(entry)), shared: false }
    this.#loading.set(entry, loading)
    return loading.file
  }

  async #read(entry: CacheEntry): Promise<HotFile> {
    this.#reads++
    const bytes = await readFile(entry.path)
    const file = hotFile(entry, bytes)
    // Another length than the index says: changed since the lookup (the caller does not send it).
    if (bytes.length !== entry.bytes || bytes.length > this.#maxFileBytes) return file
    const key = entry.key
    if (this.#loading.get(entry)?.shared === true || this.#seen?.delete(key) === true) this.#cache?.set(key, file)
    else this.#seen?.set(key, true)
    return file
  }
}

/** The admission window: at least this many keys remembered… */
const SEEN_KEYS_MIN = 64
/** …and one per this many bytes of the budget (4 MiB: 64 keys). */
const SEEN_BYTES_PER_KEY = 64 * 1024

/** The bytes of `entry` with their precomputed response headers. */
export function hotFile(entry: CacheEntry, bytes: Buffer): HotFile {
  return {
    entry,
    bytes,
    head: Object.freeze(['etag', etagFor(entry.key), 'cache-control', IMMUTABLE_CACHE_CONTROL, 'accept-ranges', 'bytes']),
    body: Object.freeze(['content-type', WAV_CONTENT_TYPE, 'content-length', String(bytes.length)]),
  }
}
