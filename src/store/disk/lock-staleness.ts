/**
 * Judging a render lock (render-lock.ts) stale: a lock wrongly respected makes every caller of
 * its phrase wait, a lock wrongly broken costs one duplicate render, so this errs towards stale
 * once the evidence says the owner is gone, frozen or from another boot.
 */
import os from 'node:os'
import { localProcessGoneReason, thisProcessIdentity } from './process-identity.js'
import type { LockState } from './render-lock.js'

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
