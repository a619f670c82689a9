/**
 * The render lock's heartbeat: an owner refreshes its lock's mtime while it renders, so a lock
 * not refreshed in time is stale wherever its owner is (lock-staleness.ts).
 */
import fs from 'node:fs/promises'
import type { Logger } from '../../core/ports/index.js'
import { errnoCode, storeIoError } from './fs-util.js'
import { ownedBy, readLock, type LockOwner } from './render-lock.js'

/** Refresh period of a lock judged stale after `staleLockMs` without a refresh: three chances. */
export function lockHeartbeatMs(staleLockMs: number): number {
  return Math.max(1, Math.floor(staleLockMs / 3))
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
