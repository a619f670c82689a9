import { spawn } from 'node:child_process'
import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { staleReason } from '../../../src/store/disk/lock-staleness.js'
import { createLock, newLockOwner, ownedBy, readLock, removeLockIf, sameLock, type LockState } from '../../../src/store/disk/render-lock.js'
import { processStartTicks } from '../../../src/store/disk/process-identity.js'
import { makeTempDir, removeDir } from '../../harness/store/fixtures.js'

const dirs: string[] = []
afterEach(async () => {
  await Promise.all(dirs.splice(0).map(removeDir))
})

async function lockFile(): Promise<{ lockPath: string; aside: string }> {
  const dir = await makeTempDir()
  dirs.push(dir)
  return { lockPath: path.join(dir, 'k.lock'), aside: path.join(dir, 'k.1.aa.tmp.lock') }
}

function state(owner: Partial<NonNullable<LockState['owner']>> | undefined, mtimeMs = Date.now()): LockState {
  const full = owner === undefined ? undefined : { pid: process.pid, hostname: os.hostname(), createdAt: Date.now(), token: 't', ...owner }
  return { raw: JSON.stringify(full ?? ''), owner: full, ino: 1, mtimeMs }
}

async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' })
  await new Promise((resolve) => child.on('exit', resolve))
  return child.pid ?? 0
}

describe('render lock staleness', () => {
  const staleLockMs = 30_000

  it('a live owner on this host is not stale, however old its createdAt, while its lock is fresh', () => {
    // Our parent (the test runner) is alive; our own pid would date the lock against our start.
    expect(staleReason(state({ pid: process.ppid, createdAt: Date.now() - 10 * staleLockMs }), staleLockMs)).toBeUndefined()
    expect(staleReason(state({ pid: process.pid }), staleLockMs)).toBeUndefined()
  })

  it('a dead owner on this host is stale at once', async () => {
    const pid = await deadPid()
    expect(staleReason(state({ pid }), staleLockMs)).toBe(`owner pid ${pid} is not alive`)
  })

  it('pids that would address a process group are not taken as alive', () => {
    expect(staleReason(state({ pid: 0 }), staleLockMs)).toBe('owner pid 0 is not alive')
    expect(staleReason(state({ pid: -1 }), staleLockMs)).toBe('owner pid -1 is not alive')
  })

  it('our own pid on a lock written before this process started is a previous incarnation', () => {
    expect(staleReason(state({ createdAt: performance.timeOrigin - 1 }), staleLockMs)).toBe('lock left by an earlier process with our pid')
  })

  it('another host’s lock is stale only once older than staleLockMs', () => {
    const now = Date.now()
    expect(staleReason(state({ hostname: 'elsewhere', createdAt: now - staleLockMs }), staleLockMs, now)).toBeUndefined()
    expect(staleReason(state({ hostname: 'elsewhere', createdAt: now - staleLockMs - 1 }), staleLockMs, now)).toMatch(/elsewhere/)
  })

  it('an unreadable lock (being written, or garbage) goes by its mtime', () => {
    const now = Date.now()
    expect(staleReason(state(undefined, now - 1000), staleLockMs, now)).toBeUndefined()
    expect(staleReason(state(undefined, now - staleLockMs - 1), staleLockMs, now)).toBe('unreadable lock older than staleLockMs')
  })

  it('a lock of this very process (pid, start time, boot, namespace) is respected while it is refreshed', () => {
    const now = Date.now()
    const owner = newLockOwner(10_000)
    expect(owner).toMatchObject({ pidStart: expect.any(Number), bootId: expect.any(String), pidNs: expect.stringMatching(/^pid:\[\d+\]$/) })
    expect(staleReason(state(owner, now - 29_000), staleLockMs, now)).toBeUndefined()
    expect(staleReason(state(owner, now - 30_001), staleLockMs, now)).toBe('lock not refreshed for 30001 ms (its owner refreshes it every 10000 ms)')
  })

  it('judges a refreshing owner by its own heartbeat when that is slower than our staleLockMs', () => {
    const now = Date.now()
    const owner = { ...newLockOwner(20_000), pid: process.ppid, pidStart: processStartTicks(process.ppid) ?? -1 }
    expect(staleReason(state(owner, now - 59_000), 1000, now)).toBeUndefined()
    expect(staleReason(state(owner, now - 60_001), 1000, now)).toMatch(/^lock not refreshed/)
  })

  it('another host or another pid namespace: the pid means nothing here, only the heartbeat counts', async () => {
    const now = Date.now()
    const pid = await deadPid()
    for (const where of [{ hostname: 'elsewhere' }, { pidNs: 'pid:[1]' }]) {
      const owner = { ...newLockOwner(10_000), pid, ...where }
      expect(staleReason(state(owner, now - 1000), staleLockMs, now), JSON.stringify(where)).toBeUndefined()
      expect(staleReason(state(owner, now - staleLockMs - 1), staleLockMs, now)).toMatch(/^lock not refreshed/)
    }
  })

  it('a live pid with another start time than the lock records was reused: stale at once', () => {
    const owner = { ...newLockOwner(10_000), pid: process.ppid, pidStart: 1 }
    expect(staleReason(state(owner), staleLockMs)).toMatch(new RegExp(`^owner pid ${process.ppid} now belongs to another process`))
  })
})

describe('render lock files', () => {
  it('is created exclusively, with its owner in it', async () => {
    const { lockPath } = await lockFile()
    const owner = newLockOwner()
    expect(await createLock(lockPath, owner)).toBe(true)
    expect(await createLock(lockPath, newLockOwner())).toBe(false)
    expect((await readLock(lockPath))?.owner).toEqual(owner)
    expect(JSON.parse(await fs.readFile(lockPath, 'utf8'))).toMatchObject({ pid: process.pid, hostname: os.hostname() })
  })

  it('reads the owner fields of earlier versions, and ignores malformed newer ones', async () => {
    const { lockPath } = await lockFile()
    await fs.writeFile(lockPath, JSON.stringify({ pid: 7, hostname: 'h', createdAt: 1, token: 't' }))
    expect((await readLock(lockPath))?.owner).toEqual({ pid: 7, hostname: 'h', createdAt: 1, token: 't' })
    await fs.writeFile(lockPath, JSON.stringify({ pid: 7, hostname: 'h', createdAt: 1, token: 't', pidStart: '12', bootId: 3, pidNs: '', heartbeatMs: -1 }))
    expect((await readLock(lockPath))?.owner).toEqual({ pid: 7, hostname: 'h', createdAt: 1, token: 't' })
  })

  it('removeLockIf removes the judged lock', async () => {
    const { lockPath, aside } = await lockFile()
    await createLock(lockPath, newLockOwner())
    const judged = await readLock(lockPath)
    if (judged === undefined) throw new Error('no lock')
    expect(await removeLockIf(lockPath, aside, sameLock(judged))).toBe('removed')
    expect(await readLock(lockPath)).toBeUndefined()
    expect(await fs.readdir(path.dirname(lockPath))).toEqual([])
    expect(await removeLockIf(lockPath, aside, sameLock(judged))).toBe('missing')
  })

  it('removeLockIf puts back a newer lock that replaced the judged one (two waiters racing on a stale lock)', async () => {
    const { lockPath, aside } = await lockFile()
    await createLock(lockPath, newLockOwner())
    const judged = await readLock(lockPath)
    if (judged === undefined) throw new Error('no lock')
    // Another waiter removed the stale lock and took the key before we acted on our judgement.
    await fs.unlink(lockPath)
    const winner = newLockOwner()
    await createLock(lockPath, winner)
    expect(await removeLockIf(lockPath, aside, sameLock(judged))).toBe('not-matching')
    expect((await readLock(lockPath))?.owner).toEqual(winner)
    expect(await fs.readdir(path.dirname(lockPath))).toEqual(['k.lock'])
  })

  it('release only removes our own lock', async () => {
    const { lockPath, aside } = await lockFile()
    const mine = newLockOwner()
    const theirs = newLockOwner()
    await createLock(lockPath, theirs)
    expect(await removeLockIf(lockPath, aside, ownedBy(mine))).toBe('not-matching')
    expect((await readLock(lockPath))?.owner).toEqual(theirs)
    expect(await removeLockIf(lockPath, aside, ownedBy(theirs))).toBe('removed')
  })
})
