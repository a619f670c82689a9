/**
 * The per-key render lock `<key>.lock`: created exclusively (open 'wx'), holding JSON
 * {pid, hostname, createdAt, token}. It only saves duplicate renders: correctness (nobody
 * sees half a WAV) comes from temp file + rename, so a rare double owner is harmless.
 */
import { randomBytes } from 'node:crypto'
import fs from 'node:fs/promises'
import os from 'node:os'
import { errnoCode, isProcessAlive, storeIoError, unlinkIfExists, usingFile } from './fs-util.js'

export interface LockOwner {
  readonly pid: number
  readonly hostname: string
  /** Wall-clock ms since the epoch. */
  readonly createdAt: number
  /** Random: tells this lock from any later lock of the same key by the same pid. */
  readonly token: string
}

/** A lock file as read: `owner` is undefined while it is being written, or when it is garbage. */
export interface LockState {
  readonly raw: string
  readonly owner: LockOwner | undefined
  readonly ino: number
  readonly mtimeMs: number
}

export function newLockOwner(): LockOwner {
  return { pid: process.pid, hostname: os.hostname(), createdAt: Date.now(), token: randomBytes(8).toString('hex') }
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
  const { pid, hostname, createdAt, token } = value as Record<string, unknown>
  if (typeof pid !== 'number' || typeof hostname !== 'string' || typeof createdAt !== 'number' || typeof token !== 'string') {
    return undefined
  }
  return { pid, hostname, createdAt, token }
}

/**
 * Why this lock is stale, or undefined when its owner may still be rendering.
 * - this host, owner pid gone (kill(pid, 0) → ESRCH): stale at once;
 * - this host, with our own pid but written before this process started (pid reuse after a
 *   restart, common in containers): stale at once; written before the host booted: stale
 *   once older than `staleLockMs`;
 * - this host, owner alive: never (renders are bounded by the render timeout);
 * - another host, or no readable owner: stale once older than `staleLockMs`.
 */
export function staleReason(lock: LockState, staleLockMs: number, nowMs = Date.now()): string | undefined {
  const { owner } = lock
  if (owner === undefined) return nowMs - lock.mtimeMs > staleLockMs ? 'unreadable lock older than staleLockMs' : undefined
  if (owner.hostname !== os.hostname()) {
    return nowMs - owner.createdAt > staleLockMs ? `lock of host ${owner.hostname} older than staleLockMs` : undefined
  }
  if (!isProcessAlive(owner.pid)) return `owner pid ${owner.pid} is not alive`
  // Written before the host booted: the pid now belongs to someone else. Uptime can read low in
  // some sandboxes, so this also asks for staleLockMs of age (a wrong call costs a duplicate render).
  if (owner.createdAt < nowMs - os.uptime() * 1000 && nowMs - owner.createdAt > staleLockMs) return 'lock written before this host booted'
  if (owner.pid === process.pid && owner.createdAt < performance.timeOrigin) return 'lock left by an earlier process with our pid'
  return undefined
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
