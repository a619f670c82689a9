import os from 'node:os'
import path from 'node:path'
import { DEFAULTS } from '../../core/defaults.js'
import { TtsError } from '../../core/errors.js'
import { systemClock, type CacheEntry, type Clock, type Logger } from '../../core/ports/index.js'
import { statfsSpace, type SpaceReader } from './disk-space.js'

/**
 * Defaults of the disk store, each with its unit. The shared ones come from core DEFAULTS;
 * `lockPollMs` is store-only (how often a waiting claim re-checks a lock when no fs.watch
 * event arrives: the stale-lock check, and the only signal on file systems without inotify).
 */
export const STORE_DEFAULTS = Object.freeze({
  maxCacheBytes: DEFAULTS.maxCacheBytes,
  maxAgeMs: DEFAULTS.maxAgeMs,
  staleLockMs: DEFAULTS.staleLockMs,
  scanConcurrency: DEFAULTS.scanConcurrency,
  /** Upper bound of the default scan process count (which is min(this, CPUs)). */
  maxScanProcesses: 4,
  lockPollMs: 500,
  /** Below this much free space `health()` is degraded, and a render cut short is TTS_ERR_STORE_FULL (bytes). */
  minFreeBytes: DEFAULTS.minFreeBytes,
  /** Below this many free inodes likewise (file systems that count inodes). */
  minFreeInodes: 1000,
  /** A render cut short with less than this free is the disk's fault even with `minFreeBytes` 0 (bytes). */
  cutShortFreeBytesFloor: 1024 ** 2,
} as const)

/** Why an entry left the index without being asked to: the byte budget, or its age. */
export type EvictReason = 'size' | 'expired'

export interface DiskStoreOptions {
  /** Root of the cache tree; created when missing. Every file the store touches is under it. */
  readonly cacheDir: string
  /** Budget for unpinned WAV bytes; the least recently used entries go first. Pinned entries do not count. */
  readonly maxCacheBytes?: number | undefined
  /** Unpinned entries older than this (by their `createdAt`) are dropped; 0 disables expiry. */
  readonly maxAgeMs?: number | undefined
  /**
   * A lock or temp file from a dead process on this host is stale at once; one from another host
   * (or with an unreadable owner) is stale after this long. Keep it above the render timeout.
   */
  readonly staleLockMs?: number | undefined
  /** File operations at a time in bulk work: the scan's clean-up, removeWhere, removeAll. */
  readonly scanConcurrency?: number | undefined
  /**
   * Child processes reading the tree at start (sync I/O there: far cheaper per file than async
   * calls; processes, not threads, so their memory leaves with them). Default
   * min(STORE_DEFAULTS.maxScanProcesses, CPUs); 0 reads on the calling thread and blocks its
   * event loop meanwhile.
   */
  readonly scanProcesses?: number | undefined
  /** Fallback re-check period of a waiting claim (see STORE_DEFAULTS). */
  readonly lockPollMs?: number | undefined
  /**
   * Let `open` return without scanning (default false); `startScan()` then scans in the
   * background. Until the scan ends, a key it has not indexed yet is found on disk by `claim`
   * (a hit, one sidecar and header read slower); keys the store claims, publishes, pins or
   * removes meanwhile are left to it; removeWhere/removeAll wait for it. `serve` uses this so
   * it answers at once on a big cache, and starts the scan once it listens.
   */
  readonly scanInBackground?: boolean | undefined
  /**
   * `health()` is degraded below this much free space on the cache's file system, and a render
   * whose output is cut short meanwhile fails with TTS_ERR_STORE_FULL (bytes; 0: only the
   * `cutShortFreeBytesFloor`). Default STORE_DEFAULTS.minFreeBytes.
   */
  readonly minFreeBytes?: number | undefined
  /**
   * Register as a long-running service of the directory (`serve`): `open` fails with
   * TTS_ERR_CONFIG (naming TTS_CACHE_SHARED) while another live service uses it, unless both are
   * `shared` (service-registry.ts). Absent: not registered (one-shot commands beside a service).
   */
  readonly service?: { readonly shared: boolean } | undefined
  /** Reads the free space of the cache's file system (statfs); tests inject a full disk. */
  readonly spaceReader?: SpaceReader | undefined
  /** Time source for entry ages (`createdAt`, expiry). Lock and temp-file ages use the wall clock. */
  readonly clock?: Clock | undefined
  readonly logger: Logger
  /** Metrics hook, called once per evicted/expired entry after it left the index. Must not throw. */
  readonly onEvict?: ((entry: CacheEntry, reason: EvictReason) => void) | undefined
}

export interface ResolvedStoreOptions {
  readonly cacheDir: string
  readonly maxCacheBytes: number
  readonly maxAgeMs: number
  readonly staleLockMs: number
  readonly scanConcurrency: number
  readonly scanProcesses: number
  readonly lockPollMs: number
  readonly scanInBackground: boolean
  readonly minFreeBytes: number
  readonly service: { readonly shared: boolean } | undefined
  readonly spaceReader: SpaceReader
  readonly clock: Clock
  readonly logger: Logger
  readonly onEvict: ((entry: CacheEntry, reason: EvictReason) => void) | undefined
}

/** Applies defaults and rejects nonsense (TTS_ERR_CONFIG), reporting every problem at once. */
export function resolveStoreOptions(options: DiskStoreOptions): ResolvedStoreOptions {
  const cacheDirOk = typeof options.cacheDir === 'string' && options.cacheDir !== '' && !options.cacheDir.includes('\0')
  const resolved: ResolvedStoreOptions = {
    cacheDir: cacheDirOk ? path.resolve(options.cacheDir) : '',
    maxCacheBytes: options.maxCacheBytes ?? STORE_DEFAULTS.maxCacheBytes,
    maxAgeMs: options.maxAgeMs ?? STORE_DEFAULTS.maxAgeMs,
    staleLockMs: options.staleLockMs ?? STORE_DEFAULTS.staleLockMs,
    scanConcurrency: options.scanConcurrency ?? STORE_DEFAULTS.scanConcurrency,
    scanProcesses: options.scanProcesses ?? Math.min(STORE_DEFAULTS.maxScanProcesses, os.availableParallelism()),
    lockPollMs: options.lockPollMs ?? STORE_DEFAULTS.lockPollMs,
    scanInBackground: options.scanInBackground ?? false,
    minFreeBytes: options.minFreeBytes ?? STORE_DEFAULTS.minFreeBytes,
    service: options.service,
    spaceReader: options.spaceReader ?? statfsSpace,
    clock: options.clock ?? systemClock,
    logger: options.logger,
    onEvict: options.onEvict,
  }
  const problems: string[] = []
  if (!cacheDirOk) problems.push('cacheDir must be a non-empty path')
  if (!Number.isSafeInteger(resolved.maxCacheBytes) || resolved.maxCacheBytes < 1) problems.push('maxCacheBytes must be a positive integer')
  if (!Number.isSafeInteger(resolved.maxAgeMs) || resolved.maxAgeMs < 0) problems.push('maxAgeMs must be an integer >= 0')
  if (!Number.isSafeInteger(resolved.staleLockMs) || resolved.staleLockMs < 1) problems.push('staleLockMs must be a positive integer')
  if (!Number.isSafeInteger(resolved.scanConcurrency) || resolved.scanConcurrency < 1) problems.push('scanConcurrency must be a positive integer')
  if (!Number.isSafeInteger(resolved.scanProcesses) || resolved.scanProcesses < 0) problems.push('scanProcesses must be an integer >= 0')
  if (!Number.isSafeInteger(resolved.lockPollMs) || resolved.lockPollMs < 1) problems.push('lockPollMs must be a positive integer')
  if (!Number.isSafeInteger(resolved.minFreeBytes) || resolved.minFreeBytes < 0) problems.push('minFreeBytes must be an integer >= 0')
  if (problems.length > 0) throw new TtsError('TTS_ERR_CONFIG', { args: [`store: ${problems.join('; ')}`], details: { problems } })
  return Object.freeze(resolved)
}
