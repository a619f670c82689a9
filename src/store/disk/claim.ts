/**
 * claim(): find the key's WAV on disk, or take its render lock, or wait for whoever holds it.
 * Waiting is event-driven (fs.watch on the key's directory) with a slow timer as the fallback
 * that also notices stale locks (a dead owner changes nothing on disk). The uncontended miss
 * (nothing there, no lock) takes the lock synchronously (claimAtOnce), so its render starts
 * before the event loop turns.
 */
import fsSync from 'node:fs'
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
  /** What settleDeletions does, synchronously: true when no deletion of the key's files is in flight. */
  settledNow(key: string): boolean
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
  if (options.replace !== true && options.signal?.aborted !== true) {
    const owned = claimAtOnce(host, key)
    if (owned !== undefined) return owned
  }
  return claimWithWaits(host, key, options)
}

/** The general claim: reads what is there, takes the lock or waits for its holder; every step through the thread pool. */
async function claimWithWaits(host: ClaimHost, key: string, options: ClaimOptions): Promise<ClaimResult> {
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

/**
 * The uncontended miss, owned before the event loop turns: no deletion in flight, no WAV and no
 * lock there. A handful of synchronous calls (stat, mkdir, exclusive create of the lock, its
 * write and close, stat again: a lookup already stats synchronously) instead of the async path's
 * dozen thread-pool round trips, each of which waits for the whole poll phase. In a burst of N
 * requests for one new phrase that phase is the parsing of every request read meanwhile, so the
 * render used to start only after its waiters had all been parsed (issue 19, goal 3); now it
 * starts while the first request is handled. Same lock, same owner record, same check for a WAV
 * published between the first look and the lock. undefined, leaving nothing behind, whenever
 * anything else holds (a WAV or a lock there, a deletion in flight, any error): the async path
 * then decides and reports.
 */
function claimAtOnce(host: ClaimHost, key: string): ClaimResult | undefined {
  const { layout, logger } = host
  const wavPath = layout.wavPath(key)
  const lockPath = layout.lockPath(key)
  try {
    if (!host.settledNow(key) || fsSync.statSync(wavPath, { throwIfNoEntry: false }) !== undefined) return undefined
    fsSync.mkdirSync(layout.dirOf(key), { recursive: true })
  } catch {
    return undefined
  }
  const owner = newLockOwner(lockHeartbeatMs(host.staleLockMs))
  if (!createLockNow(lockPath, owner)) return undefined
  let published: boolean
  try {
    published = fsSync.statSync(wavPath, { throwIfNoEntry: false }) !== undefined
  } catch {
    published = true
  }
  if (published) {
    // A peer published between the look and the lock: the async path reads and indexes it.
    unlinkNow(lockPath)
    return undefined
  }
  keepLockFresh(lockPath, owner, logger)
  return { state: 'owned', slot: host.slot(key, owner) }
}

/** createLock with synchronous calls; false (nothing left behind) when it exists or anything fails. */
function createLockNow(lockPath: string, owner: LockOwner): boolean {
  let fd: number
  try {
    fd = fsSync.openSync(lockPath, 'wx', 0o644)
  } catch {
    return false
  }
  let written = false
  try {
    fsSync.writeFileSync(fd, JSON.stringify(owner), 'utf8')
    written = true
  } catch {
    // Unlinked below.
  }
  try {
    fsSync.closeSync(fd)
  } catch {
    // Linux releases the descriptor even then; an unusable lock is unlinked below.
    written = false
  }
  if (written) return true
  // A lock we cannot fill in would read as "being written" to everyone until it goes stale.
  unlinkNow(lockPath)
  return false
}

/** Removes a lock this process just created and nobody can have taken over yet; a failure leaves it to stale-lock recovery. */
function unlinkNow(lockPath: string): void {
  try {
    fsSync.unlinkSync(lockPath)
  } catch {
    // Left for the stale-lock recovery (the owner record names this process).
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
