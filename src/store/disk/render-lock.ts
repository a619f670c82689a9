/**
 * The per-key render lock `<key>.lock`: created exclusively (open 'wx'), holding JSON
 * {pid, hostname, createdAt, token, pidStart, bootId, pidNs, heartbeatMs}. It only saves
 * duplicate renders: correctness (nobody sees half a WAV) comes from temp file + rename, so a
 * rare double owner is harmless; a lock wrongly respected is not (every caller of that phrase
 * waits), so staleness is judged by more than a live pid (lock-staleness.ts: staleReason); an
 * owner keeps its lock fresh while it renders (lock-heartbeat.ts).
 *
 * Format: the first four fields are those of earlier versions, which ignore the others (JSON
 * keys they do not read); a lock without the newer fields is judged as before, plus its age.
 */
import { randomBytes } from 'node:crypto'
import fs from 'node:fs/promises'
import os from 'node:os'
import { errnoCode, storeIoError, unlinkIfExists, usingFile } from './fs-util.js'
import { thisProcessIdentity } from './process-identity.js'

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
      // Together (a thread-pool round trip each): the lock is read on every release.
      const [stat, raw] = await Promise.all([h.stat(), h.readFile('utf8')])
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
