import { spawn } from 'node:child_process'
import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { createLock, newLockOwner, ownedBy, readLock, removeLockIf, sameLock, staleReason, type LockState } from '../../src/store/render-lock.js'
import { makeTempDir, removeDir } from '../support/store-fixtures.js'

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

  it('a live owner on this host is never stale, however old', () => {
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
