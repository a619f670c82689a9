/**
 * Start-up scan: child processes (scan-worker.ts) read each entry's sidecar and WAV header
 * (never the audio); this side validates, indexes, and cleans what a crash or a dead peer
 * left: temp files, stale locks, WAVs without sidecar, sidecars without WAV, entries that fail
 * validation or are expired. Files the store did not write are left alone, and so are the
 * files of a key whose lock is live (a peer is publishing it right now).
 */
import fs from 'node:fs/promises'
import path from 'node:path'
import { WAV_HEADER_PROBE_BYTES } from '../../audio/wav.js'
import type { Clock, Logger } from '../../core/ports/index.js'
import { forEachLimit } from './concurrency.js'
import { entryFromFiles, removeEntryFiles, type EntryRead, type IndexedEntry } from './entry-files.js'
import { isProcessAlive, storeIoError, unlinkIfExists, errnoCode } from './fs-util.js'
import { parseCacheFileName, SHARD_NAME, type CacheLayout } from './layout.js'
import { staleReason } from './lock-staleness.js'
import { readLock, removeLockIf, sameLock } from './render-lock.js'
import { runScanProcesses } from './scan-processes.js'
import type { LeafReport, RawPair } from './scan-worker.js'
import type { StringPool } from './string-pool.js'

export interface ScanOptions {
  readonly layout: CacheLayout
  readonly pool: StringPool
  readonly staleLockMs: number
  /** Clean-up file operations at a time. */
  readonly concurrency: number
  /** Child processes reading the tree; 0 reads on this thread (blocking the event loop meanwhile). */
  readonly processes: number
  /** 0: nothing expires. */
  readonly maxAgeMs: number
  readonly clock: Clock
  readonly logger: Logger
  /**
   * Deletes a key's entry files (WAV, sidecar) found invalid, orphaned or expired; true when it
   * did. Default: at once. A store scanning in the background passes its own, which runs in the
   * key's deletion order and leaves alone a key claimed, published or removed since the scan began.
   */
  readonly removeEntry?: ((key: string) => Promise<boolean>) | undefined
  /** Stops the scan: the promise rejects with the signal's reason and nothing is cleaned after. */
  readonly signal?: AbortSignal | undefined
}

export interface ScanReport {
  /** Valid entries found (before the byte budget applies). */
  readonly entries: number
  readonly bytes: number
  readonly pinnedEntries: number
  readonly removedInvalid: number
  /** A WAV without sidecar or a sidecar without WAV. */
  readonly removedOrphans: number
  readonly removedExpired: number
  readonly removedTemps: number
  readonly removedLocks: number
  /** Files whose name the store never writes, left in place. */
  readonly foreignFiles: number
  /** Files or keys that could not be scanned (logged one by one), left as they are. */
  readonly errors: number
  /** Child processes that read the tree (0: read inline). */
  readonly processes: number
  readonly durationMs: number
}

type Counters = { -readonly [K in Exclude<keyof ScanReport, 'durationMs' | 'processes'>]: number }

interface KeyFiles {
  wav: boolean
  sidecar: boolean
  lock: boolean
  temps: string[]
  pair: RawPair | undefined
}

/** Scans the tree; entries come back oldest first (the order to insert them into an LRU). */
export async function scanCacheDir(options: ScanOptions): Promise<{ entries: IndexedEntry[]; report: ScanReport }> {
  const started = performance.now()
  const { layout, logger } = options
  const counters: Counters = {
    entries: 0, bytes: 0, pinnedEntries: 0, removedInvalid: 0, removedOrphans: 0, removedExpired: 0,
    removedTemps: 0, removedLocks: 0, foreignFiles: 0, errors: 0,
  }
  const entries: IndexedEntry[] = []
  /** Keys needing file operations; run after the read, `concurrency` at a time. */
  const followUps: { key: string; files: KeyFiles }[] = []

  const accept = (pair: RawPair): void => {
    const read = parsePair(options, pair)
    if (read.status === 'ok' && !isExpired(options, read.entry)) entries.push(read.entry)
    else followUps.push({ key: pair.key, files: { wav: true, sidecar: true, lock: false, temps: [], pair } })
  }
  const onLeaf = (leaf: LeafReport): void => {
    for (const error of leaf.errors) {
      if (error.code === 'ENOENT') continue // Removed while we looked: nothing to index.
      counters.errors++
      logger.error({ err: error, path: error.path }, 'cannot read cache file during scan; left as it is')
    }
    const groups = groupOthers(leaf, counters)
    for (const pair of leaf.pairs) {
      const files = groups.get(pair.key)
      if (files === undefined) {
        accept(pair)
      } else {
        files.wav = files.sidecar = true
        files.pair = pair
      }
    }
    for (const [key, files] of groups) followUps.push({ key, files })
  }
  const tops = await shardDirs(layout.cacheDir)
  const processes = await runScanProcesses(
    { kind: 'tts-cache-scan', root: layout.cacheDir, tops, headBytes: WAV_HEADER_PROBE_BYTES },
    options.processes,
    (batch) => batch.forEach(onLeaf),
    options.signal,
  )
  await forEachLimit(followUps, options.concurrency, async ({ key, files }) => {
    options.signal?.throwIfAborted()
    try {
      const entry = await settleKey(options, key, files, counters)
      if (entry !== undefined) entries.push(entry)
    } catch (err) {
      if (options.signal?.aborted === true) throw err
      counters.errors++
      logger.error({ err, key }, 'cannot clean up cache entry; left as it is')
    }
  })
  options.signal?.throwIfAborted()
  for (const entry of entries) {
    counters.entries++
    counters.bytes += entry.bytes
    if (entry.pinned) counters.pinnedEntries++
  }
  entries.sort((a, b) => a.createdAt - b.createdAt)
  return { entries, report: { ...counters, processes, durationMs: Math.round(performance.now() - started) } }
}

function isExpired(options: ScanOptions, entry: IndexedEntry): boolean {
  return !entry.pinned && options.maxAgeMs > 0 && options.clock.now() - entry.createdAt > options.maxAgeMs
}

function parsePair(options: ScanOptions, pair: RawPair): EntryRead {
  return entryFromFiles(options.layout, pair.key, pair.sidecar, Buffer.from(pair.head, 'latin1'), pair.size, pair.tag, options.pool)
}

/** Groups the names that are not complete pairs by key. A key from another shard is foreign. */
function groupOthers(leaf: LeafReport, counters: Counters): Map<string, KeyFiles> {
  const groups = new Map<string, KeyFiles>()
  const prefix = leaf.leaf.replace(path.sep, '')
  for (const name of leaf.others) {
    const parsed = parseCacheFileName(name)
    if (parsed.kind === 'foreign' || !parsed.key.startsWith(prefix)) {
      counters.foreignFiles++
      continue
    }
    let files = groups.get(parsed.key)
    if (files === undefined) {
      files = { wav: false, sidecar: false, lock: false, temps: [], pair: undefined }
      groups.set(parsed.key, files)
    }
    if (parsed.kind === 'temp') files.temps.push(name)
    else files[parsed.kind] = true
  }
  return groups
}

/** Lock, temps, then the entry itself: kept (returned), or its files deleted. */
async function settleKey(options: ScanOptions, key: string, files: KeyFiles, counters: Counters): Promise<IndexedEntry | undefined> {
  const { layout, logger } = options
  let lockLive = false
  if (files.lock) {
    const lockPath = layout.lockPath(key)
    const lock = await readLock(lockPath)
    const stale = lock === undefined ? undefined : staleReason(lock, options.staleLockMs)
    if (lock !== undefined && stale !== undefined) {
      const outcome = await removeLockIf(lockPath, layout.tempPath(key, 'lock'), sameLock(lock))
      // Not removed: someone took the key meanwhile, so its files may be in motion.
      lockLive = outcome !== 'removed'
      if (outcome === 'removed') {
        counters.removedLocks++
        logger.info({ key, reason: stale }, 'removed stale render lock')
      }
    } else {
      lockLive = lock !== undefined
    }
  }
  for (const name of files.temps) {
    const tempPath = path.join(layout.dirOf(key), name)
    const pid = parseCacheFileName(name)
    if (pid.kind !== 'temp') continue
    if ((await isDeadTemp(tempPath, pid.pid, options.staleLockMs)) && (await unlinkIfExists(tempPath))) counters.removedTemps++
  }
  if (lockLive) return undefined
  const removeEntry = options.removeEntry ?? ((k: string) => removeEntryFiles(layout, k).then(() => true))
  if (files.pair !== undefined) {
    const read = parsePair(options, files.pair)
    if (read.status === 'ok' && !isExpired(options, read.entry)) return read.entry
    if (read.status !== 'ok') logger.warn({ key, reason: read.status === 'invalid' ? read.reason : read.status }, 'removing invalid cache entry')
    if (await removeEntry(key)) {
      if (read.status === 'ok') counters.removedExpired++
      else counters.removedInvalid++
    }
  } else if ((files.wav || files.sidecar) && (await removeEntry(key))) {
    counters.removedOrphans++
  }
  return undefined
}

/** Dead: its writer is gone, or it predates this process under our own pid, or it is old. */
async function isDeadTemp(tempPath: string, pid: number, staleLockMs: number): Promise<boolean> {
  if (!isProcessAlive(pid)) return true
  let mtimeMs: number
  try {
    mtimeMs = (await fs.stat(tempPath)).mtimeMs
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return false
    throw storeIoError(err, 'stat', tempPath)
  }
  if (pid === process.pid && mtimeMs < performance.timeOrigin) return true
  return Date.now() - mtimeMs > staleLockMs
}

/** Names of the two-hex-character subdirectories of `dir`. */
async function shardDirs(dir: string): Promise<string[]> {
  try {
    const dirents = await fs.readdir(dir, { withFileTypes: true })
    return dirents.filter((d) => d.isDirectory() && SHARD_NAME.test(d.name)).map((d) => d.name)
  } catch (err) {
    throw storeIoError(err, 'list directory', dir)
  }
}
