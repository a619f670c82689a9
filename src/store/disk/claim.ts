/**
 * claim(): find the key's WAV on disk, or take its render lock, or wait for whoever holds it.
 * Waiting is event-driven (fs.watch on the key's directory) with a slow timer as the fallback
 * that also notices stale locks (a dead owner changes nothing on disk).
 */
import fs from 'node:fs/promises'
import type { CacheEntry, ClaimOptions, ClaimResult, Logger } from '../../core/ports/index.js'
import { abortError } from '../../core/single-flight.js'
import type { DirWatchers } from './dir-watcher.js'
import type { EntryRead, IndexedEntry } from './entry-files.js'
import { errnoCode, storeIoError } from './fs-util.js'
import type { CacheLayout } from './layout.js'
import { keepLockFresh, lockHeartbeatMs } from './lock-heartbeat.js'
import { staleReason } from './lock-staleness.js'
import { createLock, newLockOwner, ownedBy, readLock, removeLockIf, sameLock, type LockOwner } from './render-lock.js'
import type { DiskRenderSlot } from './render-slot.js'

export interface ClaimHost {
  readonly layout: CacheLayout
  readonly watchers: DirWatchers
  readonly logger: Logger
  readonly staleLockMs: number
  readonly lockPollMs: number
  /** Resolves once pending deletions of the key's files are done. */
  settleDeletions(key: string): Promise<void>
  /** Reads the key's entry from disk (not the index). */
  read(key: string): Promise<EntryRead>
  /** An expired file on disk does not count as there: it is rendered again and replaced. */
  isExpired(entry: CacheEntry): boolean
  /** Indexes an entry found on disk; returns what lookups will see. */
  found(entry: IndexedEntry): CacheEntry
  slot(key: string, owner: LockOwner): DiskRenderSlot
}

/** See AudioStore.claim. `key` is already validated. */
export async function claimKey(host: ClaimHost, key: string, options: ClaimOptions): Promise<ClaimResult> {
  const { signal } = options
  const replace = options.replace === true
  // A function, so TypeScript does not narrow `aborted` to false after the first check.
  const aborted = (): boolean => signal?.aborted === true
  if (signal !== undefined && aborted()) throw abortError(signal)
  await host.settleDeletions(key)
  if (!replace) {
    const existing = await readValid(host, key)
    if (existing !== undefined) return { state: 'exists', entry: host.found(existing) }
  }
  const { layout, logger } = host
  const dir = layout.dirOf(key)
  const lockPath = layout.lockPath(key)
  try {
    await fs.mkdir(dir, { recursive: true })
  } catch (err) {
    throw storeIoError(err, 'create directory', dir)
  }
  // With replace, the WAV there now does not count; only a different one (a peer's re-render) does.
  const replaced = replace ? await wavIdentity(layout.wavPath(key)) : undefined
  const publishedByPeer = async (): Promise<IndexedEntry | undefined> => {
    if (replace && (await wavIdentity(layout.wavPath(key))) === replaced) return undefined
    return readValid(host, key)
  }
  // Subscribe before the first look, so an event between look and wait is not lost.
  const events = host.watchers.subscribe(dir, [`${key}.wav`, `${key}.lock`])
  try {
    let waitingLogged = false
    for (;;) {
      if (signal !== undefined && aborted()) throw abortError(signal)
      // Our lock says who we are (pid, start time, boot) and that we refresh it while we hold it.
      const owner = newLockOwner(lockHeartbeatMs(host.staleLockMs))
      if (await createLock(lockPath, owner)) {
        // Someone may have published between our look and our lock: check again under the lock.
        const peer = await publishedByPeer().catch(async (err: unknown) => {
          await dropOurLock(host, key, owner)
          throw err
        })
        if (peer !== undefined || aborted()) await dropOurLock(host, key, owner)
        if (peer !== undefined) return { state: 'published-by-peer', entry: host.found(peer) }
        if (signal !== undefined && aborted()) throw abortError(signal)
        keepLockFresh(lockPath, owner, logger)
        return { state: 'owned', slot: host.slot(key, owner) }
      }
      const peer = await publishedByPeer()
      if (peer !== undefined) return { state: 'published-by-peer', entry: host.found(peer) }
      const lock = await readLock(lockPath)
      if (lock === undefined) continue // Released meanwhile: try again at once.
      const stale = staleReason(lock, host.staleLockMs)
      if (stale !== undefined) {
        const outcome = await removeLockIf(lockPath, layout.tempPath(key, 'lock'), sameLock(lock))
        logger.warn({ key, reason: stale, owner: lock.owner, outcome }, 'taking over a stale render lock')
        continue
      }
      if (!waitingLogged) {
        waitingLogged = true
        logger.debug({ key, owner: lock.owner }, 'waiting for render lock')
      }
      await events.next(host.lockPollMs, signal)
    }
  } finally {
    events.close()
  }
}

async function readValid(host: ClaimHost, key: string): Promise<IndexedEntry | undefined> {
  const read = await host.read(key)
  if (read.status === 'ok') return host.isExpired(read.entry) ? undefined : read.entry
  if (read.status === 'invalid') host.logger.warn({ key, reason: read.reason }, 'cached file is not valid; it will be rendered again')
  return undefined
}

/** Identity of the file at `wavPath` (inode, size, mtime), or undefined when there is none. */
async function wavIdentity(wavPath: string): Promise<string | undefined> {
  try {
    const stat = await fs.stat(wavPath, { bigint: true })
    return `${stat.dev}:${stat.ino}:${stat.size}:${stat.mtimeNs}`
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return undefined
    throw storeIoError(err, 'stat', wavPath)
  }
}

async function dropOurLock(host: ClaimHost, key: string, owner: LockOwner): Promise<void> {
  const { layout, logger } = host
  try {
    await removeLockIf(layout.lockPath(key), layout.tempPath(key, 'lock'), ownedBy(owner))
  } catch (err) {
    logger.error({ err, key }, 'cannot remove our render lock; others will recover it as stale')
  }
}
