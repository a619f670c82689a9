/**
 * The per-key render lock `<key>.lock`: created exclusively (open 'wx'), holding JSON
 * {pid, hostname, createdAt, token, pidStart, bootId, pidNs, heartbeatMs}. It only saves
 * duplicate renders: correctness (nobody sees half a WAV) comes from temp file + rename, so a
 * rare double owner is harmless; a lock wrongly respected is not (every caller of that phrase
 * waits), so staleness is judged by more than a live pid (see staleReason).
 *
 * Format: the first four fields are those of earlier versions, which ignore the others (JSON
 * keys they do not read); a lock without the newer fields is judged as before, plus its age.
 */
import { randomBytes } from 'node:crypto'
import fs from 'node:fs/promises'
import os from 'node:os'
import type { Logger } from '../../core/ports/index.js'
import { errnoCode, storeIoError, unlinkIfExists, usingFile } from './fs-util.js'
import { localProcessGoneReason, thisProcessIdentity } from './process-identity.js'

export interface LockOwner {
  readonly pid: number
  readonly hostname: string
  /** Wall-clock ms since the epoch. */
  readonly createdAt: number
  /** Random: tells this lock from any later lock of the same key by the same pid. */
  readonly token: string
  /** The owner's start time (clock ticks after boot): a live pid with another start time was reused. */
  readonly pidStart?: number
  /** The owner's boot id: another one means the lock survived a reboot. */
  readonly bootId?: string
  /** The owner's pid namespace: in another one its pid means nothing here. */
  readonly pidNs?: string
  /**
   * The owner refreshes the lock's mtime this often while it holds it (keepLockFresh). A lock
   * that says so and was not refreshed for max(staleLockMs, 3 × heartbeatMs) is stale, whoever
   * and wherever its owner is (gone, frozen, on another host).
   */
  readonly heartbeatMs?: number
}

/** A lock file as read: `owner` is undefined while it is being written, or when it is garbage. */
export interface LockState {
  readonly raw: string
  readonly owner: LockOwner | undefined
  readonly ino: number
  readonly mtimeMs: number
}

/** Refresh period of a lock judged stale after `staleLockMs` without a refresh: three chances. */
export function lockHeartbeatMs(staleLockMs: number): number {
  return Math.max(1, Math.floor(staleLockMs / 3))
}

/** This process as a lock owner; with `heartbeatMs`, it promises to refresh the lock (keepLockFresh). */
export function newLockOwner(heartbeatMs?: number): LockOwner {
  const { pidStart, bootId, pidNs } = thisProcessIdentity()
  return {
    pid: process.pid,
    hostname: os.hostname(),
    createdAt: Date.now(),
    token: randomBytes(8).toString('hex'),
    ...(pidStart === undefined ? {} : { pidStart }),
    ...(bootId === undefined ? {} : { bootId }),
    ...(pidNs === undefined ? {} : { pidNs }),
    ...(heartbeatMs === undefined ? {} : { heartbeatMs }),
  }
}

/** Takes the lock: true when created, false when someone holds it. */
export async function createLock(lockPath: string, owner: LockOwner): Promise<boolean> {
  let handle: fs.FileHandle
  try {
    handle = await fs.open(lockPath, 'wx', 0o644)
  } catch (err) {
    if (errnoCode(err) === 'EEXIST') return false
    throw storeIoError(err, 'create lock', lockPath)
  }
  try {
    await usingFile(handle, (h) => h.writeFile(JSON.stringify(owner), 'utf8'))
    return true
  } catch (err) {
    // A lock we cannot fill in would read as "being written" to everyone until it goes stale.
    await unlinkIfExists(lockPath)
    throw storeIoError(err, 'write lock', lockPath)
  }
}

/** Reads the lock; undefined when there is none. */
export async function readLock(lockPath: string): Promise<LockState | undefined> {
  let handle: fs.FileHandle
  try {
    handle = await fs.open(lockPath, 'r')
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return undefined
    throw storeIoError(err, 'open lock', lockPath)
  }
  try {
    return await usingFile(handle, async (h) => {
      const stat = await h.stat()
      const raw = await h.readFile('utf8')
      return { raw, owner: parseOwner(raw), ino: stat.ino, mtimeMs: stat.mtimeMs }
    })
  } catch (err) {
    throw storeIoError(err, 'read lock', lockPath)
  }
}

function parseOwner(raw: string): LockOwner | undefined {
  let value: unknown
  try {
    value = JSON.parse(raw)
  } catch {
    // An empty or half-written lock: its age (mtime) decides, see staleReason.
    return undefined
  }
  if (typeof value !== 'object' || value === null) return undefined
  const { pid, hostname, createdAt, token, pidStart, bootId, pidNs, heartbeatMs } = value as Record<string, unknown>
  if (typeof pid !== 'number' || typeof hostname !== 'string' || typeof createdAt !== 'number' || typeof token !== 'string') {
    return undefined
  }
  // The newer fields are optional (earlier versions do not write them); a malformed one is ignored.
  return {
    pid,
    hostname,
    createdAt,
    token,
    ...(Number.isSafeInteger(pidStart) && (pidStart as number) >= 0 ? { pidStart: pidStart as number } : {}),
    ...(typeof bootId === 'string' && bootId !== '' ? { bootId } : {}),
    ...(typeof pidNs === 'string' && pidNs !== '' ? { pidNs } : {}),
    ...(typeof heartbeatMs === 'number' && Number.isFinite(heartbeatMs) && heartbeatMs > 0 ? { heartbeatMs } : {}),
  }
}

/**
 * Why this lock is stale, or undefined when its owner may still be rendering.
 * - an owner that promised a heartbeat (`heartbeatMs`) and did not refresh the lock's mtime for
 *   max(staleLockMs, 3 × heartbeatMs): stale, on any host (gone, frozen, or a leaked lock);
 * - another host: judged by that heartbeat alone; an earlier version's lock (no heartbeat) is
 *   stale once its `createdAt` is older than `staleLockMs`;
 * - this host, another boot id: stale at once (the lock survived a reboot);
 * - this host, another pid namespace (a container with our host name): judged as another host;
 * - this host, owner pid gone (kill(pid, 0) → ESRCH): stale at once;
 * - this host, owner pid alive with another start time than the lock records: the pid was
 *   reused; stale at once;
 * - this host, with our own pid but written before this process started, or written before the
 *   host booted (by uptime; with staleLockMs of age, as uptime can read low in sandboxes): stale;
 * - an earlier version's lock (no start time to tell a reused pid) with a live pid: stale once
 *   not modified for `staleLockMs` (its owner never refreshes it; renders are bounded by the
 *   render timeout, which staleLockMs exceeds; a wrong call costs a duplicate render);
 * - otherwise (the owner is the very process that wrote it, and keeps it fresh): never;
 * - no readable owner: stale once its mtime is older than `staleLockMs`.
 */
export function staleReason(lock: LockState, staleLockMs: number, nowMs = Date.now()): string | undefined {
  const { owner } = lock
  if (owner === undefined) return nowMs - lock.mtimeMs > staleLockMs ? 'unreadable lock older than staleLockMs' : undefined
  const silentMs = nowMs - lock.mtimeMs
  if (owner.heartbeatMs !== undefined && silentMs > Math.max(staleLockMs, 3 * owner.heartbeatMs)) {
    return `lock not refreshed for ${Math.round(silentMs)} ms (its owner refreshes it every ${owner.heartbeatMs} ms)`
  }
  const self = thisProcessIdentity()
  const elsewhere =
    owner.hostname !== os.hostname() ? `host ${owner.hostname}` : owner.pidNs !== undefined && self.pidNs !== undefined && owner.pidNs !== self.pidNs ? `pid namespace ${owner.pidNs}` : undefined
  if (elsewhere !== undefined) {
    // Its pid means nothing here: only its refreshes (above), or the age of an earlier version's lock.
    if (owner.heartbeatMs !== undefined) return undefined
    return nowMs - owner.createdAt > staleLockMs ? `lock of ${elsewhere} older than staleLockMs` : undefined
  }
  if (owner.bootId !== undefined && self.bootId !== undefined && owner.bootId !== self.bootId) return 'lock written before this host booted (another boot id)'
  const gone = localProcessGoneReason(owner.pid, owner.pidStart)
  if (gone !== undefined) return `owner ${gone}`
  // Written before the host booted: the pid now belongs to someone else. Uptime can read low in
  // some sandboxes, so this also asks for staleLockMs of age (a wrong call costs a duplicate render).
  if (owner.createdAt < nowMs - os.uptime() * 1000 && nowMs - owner.createdAt > staleLockMs) return 'lock written before this host booted'
  if (owner.pid === process.pid && owner.createdAt < performance.timeOrigin) return 'lock left by an earlier process with our pid'
  if (owner.pidStart === undefined && owner.heartbeatMs === undefined && silentMs > staleLockMs) {
    return `lock of an earlier version older than staleLockMs (pid ${owner.pid} is alive, but nothing tells whether it is still the owner)`
  }
  return undefined
}

/**
 * While the lock at `lockPath` is `owner`'s, refreshes its mtime every `owner.heartbeatMs`
 * (the heartbeat staleReason judges it by); stops by itself once the lock is gone or is someone
 * else's (released, or taken over). Never throws: failures are logged and the next beat tries
 * again. The timer does not keep the process alive.
 */
export function keepLockFresh(lockPath: string, owner: LockOwner, logger: Logger): void {
  const everyMs = owner.heartbeatMs
  if (everyMs === undefined) return
  const beat = async (): Promise<boolean> => {
    const lock = await readLock(lockPath)
    if (lock === undefined || !ownedBy(owner)(lock)) return false
    const now = new Date()
    try {
      await fs.utimes(lockPath, now, now)
    } catch (err) {
      // Released between the read and the refresh: done.
      if (errnoCode(err) === 'ENOENT') return false
      throw storeIoError(err, 'refresh lock', lockPath)
    }
    return true
  }
  const schedule = (): void => {
    const timer = setTimeout(() => {
      beat().then(
        (held) => {
          if (held) schedule()
        },
        (err: unknown) => {
          logger.warn({ err, lockPath }, 'cannot refresh our render lock; trying again at the next beat')
          schedule()
        },
      )
    }, everyMs)
    timer.unref()
  }
  schedule()
}

export type RemoveOutcome = 'removed' | 'missing' | 'not-matching'

/**
 * Removes the lock only if it is the one the caller judged (`expected`), race-safely: the lock
 * is first renamed to a name only we know, then checked (content, inode, mtime) and deleted.
 * If it turns out to be a newer lock (someone replaced the judged one meanwhile) it is put back
 * with link(), which never overwrites a lock that appeared in between.
 */
export async function removeLockIf(
  lockPath: string,
  asidePath: string,
  expected: (moved: LockState) => boolean,
): Promise<RemoveOutcome> {
  try {
    await fs.rename(lockPath, asidePath)
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return 'missing'
    throw storeIoError(err, 'move lock aside', lockPath)
  }
  const moved = await readLock(asidePath)
  if (moved === undefined) return 'missing'
  if (expected(moved)) {
    await unlinkIfExists(asidePath)
    return 'removed'
  }
  try {
    await fs.link(asidePath, lockPath)
  } catch (err) {
    // EEXIST: a third process took the key meanwhile; the lock we moved is lost to its owner,
    // who then finds it not its own on release. Only a duplicate render can follow.
    if (errnoCode(err) !== 'EEXIST') throw storeIoError(err, 'restore lock', lockPath)
  }
  await unlinkIfExists(asidePath)
  return 'not-matching'
}

/** True when `moved` is the very lock that was judged: same bytes, same inode, same mtime. */
export function sameLock(judged: LockState): (moved: LockState) => boolean {
  return (moved) => moved.raw === judged.raw && moved.ino === judged.ino && moved.mtimeMs === judged.mtimeMs
}

/** True when `moved` is the lock `owner` wrote. */
export function ownedBy(owner: LockOwner): (moved: LockState) => boolean {
  return (moved) => moved.owner?.token === owner.token && moved.owner.pid === owner.pid
}
