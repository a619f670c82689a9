/**
 * Fault: a stale render lock whose owner pid was reused (issue 17: "a stale lock after pid reuse
 * → an HTTP request hung 236 s"). A lock's owner is judged by more than "is this pid alive":
 * the pid's start time, the boot id, the pid namespace, and a heartbeat (the owner refreshes the
 * lock's mtime; a lock nobody refreshes is stale, whatever its pid). A lock of a process that
 * really renders is still respected.
 *
 * Real files, real processes (pid 1, our parent, a child holding a lock through the real store);
 * sequenced by handshakes (log lines, file states), never by sleeping.
 */
import { readFileSync, readlinkSync } from 'node:fs'
import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import type { DiskStore } from '../../src/store/disk/disk-store.js'
import { eventually, testApp } from '../harness/http/test-apps.js'
import { openTestStore } from '../harness/store/open-store.js'
import { spawnStoreChild, type StoreChild } from '../harness/store/child-process.js'
import { keyOf } from '../harness/store/fixtures.js'
import { type RecordingLogger } from '../fakes/recording-logger.js'

const children: StoreChild[] = []
afterEach(async () => {
  await Promise.all(children.splice(0).map((child) => child.kill()))
})

/** Field 22 of /proc/<pid>/stat: the process's start time in clock ticks after boot. */
function startTicksOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19])
}

const bootId = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim()
const pidNs = readlinkSync('/proc/self/ns/pid')

function lockPathOf(store: DiskStore, key: string): string {
  return store.pathFor(key).replace(/\.wav$/, '.lock')
}

/** Writes `<key>.lock` as another process would have, with its mtime `ageMs` in the past. */
async function writeLock(lockPath: string, owner: Record<string, unknown>, ageMs = 0): Promise<void> {
  await fs.mkdir(path.dirname(lockPath), { recursive: true })
  await fs.writeFile(lockPath, JSON.stringify({ hostname: os.hostname(), createdAt: Date.now() - ageMs, token: 'left-behind', ...owner }))
  const mtime = new Date(Date.now() - ageMs)
  await fs.utimes(lockPath, mtime, mtime)
}

function takeoverReason(logger: RecordingLogger): unknown {
  return logger.atLevel('warn').find((r) => r.msg === 'taking over a stale render lock')?.obj['reason']
}

describe('fault: stale render locks are recognised by more than a live pid', () => {
  it('pid reuse: a fresh lock whose pid now belongs to an unrelated live process (its start time differs) is taken over at once', async () => {
    // lockPollMs is huge: only the judgement made on the first look can help.
    const { store, logger } = await openTestStore({ lockPollMs: 3_600_000, staleLockMs: 30_000 })
    const key = keyOf('pid reused')
    await writeLock(lockPathOf(store, key), { pid: 1, pidStart: startTicksOf(1) + 1000, bootId, pidNs, heartbeatMs: 10_000 })
    // Bounded, so the old code (which waits on a live pid forever) fails instead of hanging.
    const result = await store.claim(key, { signal: AbortSignal.timeout(10_000) })
    expect(result.state).toBe('owned')
    expect(takeoverReason(logger)).toMatch(/^owner pid 1 now belongs to another process/)
    if (result.state === 'owned') await result.slot.release()
  })

  it('a lock of an earlier version (no start time) with a live pid is stale once older than staleLockMs', async () => {
    const { store, logger } = await openTestStore({ lockPollMs: 3_600_000, staleLockMs: 30_000 })
    const key = keyOf('old format, pid reused')
    await writeLock(lockPathOf(store, key), { pid: 1 }, 60_000)
    const result = await store.claim(key, { signal: AbortSignal.timeout(10_000) })
    expect(result.state).toBe('owned')
    expect(takeoverReason(logger)).toMatch(/older than staleLockMs/)
    if (result.state === 'owned') await result.slot.release()
  })

  it('an owner that stopped refreshing its lock (frozen) is stale, although its pid is alive with the right start time', async () => {
    const { store, logger } = await openTestStore({ lockPollMs: 3_600_000, staleLockMs: 30_000 })
    const key = keyOf('frozen owner')
    const owner = process.ppid
    await writeLock(lockPathOf(store, key), { pid: owner, pidStart: startTicksOf(owner), bootId, pidNs, heartbeatMs: 1000 }, 60_000)
    const result = await store.claim(key, { signal: AbortSignal.timeout(10_000) })
    expect(result.state).toBe('owned')
    expect(takeoverReason(logger)).toMatch(/^lock not refreshed for \d+ ms/)
    if (result.state === 'owned') await result.slot.release()
  })

  it('a lock written before this host booted (another boot id) is stale at once', async () => {
    const { store, logger } = await openTestStore({ lockPollMs: 3_600_000, staleLockMs: 30_000 })
    const key = keyOf('before the reboot')
    await writeLock(lockPathOf(store, key), { pid: 1, pidStart: startTicksOf(1), bootId: '00000000-0000-4000-8000-000000000000', pidNs, heartbeatMs: 10_000 })
    const result = await store.claim(key, { signal: AbortSignal.timeout(10_000) })
    expect(result.state).toBe('owned')
    expect(takeoverReason(logger)).toMatch(/boot/)
    if (result.state === 'owned') await result.slot.release()
  })

  it('a peer that is really rendering is respected, even once its lock is older than our staleLockMs', async () => {
    // Our staleLockMs is tiny; the peer declares its own refresh period in its lock, and that is
    // what its lock is judged by.
    const { store, dir, logger } = await openTestStore({ lockPollMs: 20, staleLockMs: 50 })
    const key = keyOf('peer renders')
    const peer = spawnStoreChild('hold', dir, key)
    children.push(peer)
    expect(await peer.nextLine()).toMatch(/^owned /)
    const lockPath = lockPathOf(store, key)
    const written = JSON.parse(await fs.readFile(lockPath, 'utf8')) as Record<string, unknown>
    expect(written).toMatchObject({ pid: peer.pid, pidStart: startTicksOf(peer.pid), bootId, pidNs, heartbeatMs: expect.any(Number) })
    await eventually(async () => (Date.now() - (await fs.stat(lockPath)).mtimeMs > 50 ? true : undefined))
    const waitingNow = logger.next((r) => r.msg === 'waiting for render lock' && r.obj['key'] === key)
    const waiting = store.claim(key)
    await waitingNow
    peer.send('publish')
    expect(await peer.nextLine()).toBe('published')
    expect((await waiting).state).toBe('published-by-peer')
    expect(takeoverReason(logger)).toBeUndefined()
  })

  it('the owner refreshes its lock while it holds it (the heartbeat a waiter judges it by)', async () => {
    const { store } = await openTestStore({ lockPollMs: 3_600_000, staleLockMs: 300 })
    const key = keyOf('heartbeat')
    const result = await store.claim(key)
    expect(result.state).toBe('owned')
    const lockPath = lockPathOf(store, key)
    const longAgo = new Date(Date.now() - 3_600_000)
    await fs.utimes(lockPath, longAgo, longAgo)
    await eventually(async () => ((await fs.stat(lockPath)).mtimeMs > longAgo.getTime() + 60_000 ? true : undefined))
    if (result.state === 'owned') await result.slot.release()
    await expect(fs.stat(lockPath)).rejects.toMatchObject({ code: 'ENOENT' })
  })

  it('HTTP: a request for a phrase behind a pid-reused lock is rendered, not left waiting', async () => {
    const t = await testApp({ config: { httpDeadlineMs: 5000 } })
    const key = t.ctx.service.resolve({ text: 'behind a stale lock' }).key
    await writeLock(lockPathOf(t.store, key), { pid: 1, pidStart: startTicksOf(1) + 1000, bootId, pidNs, heartbeatMs: 10_000 })
    const res = await t.app.inject({ method: 'GET', url: '/v1/tts?text=behind%20a%20stale%20lock' })
    expect([res.statusCode, res.headers['x-tts-cache']]).toEqual([200, 'rendered'])
  })
})
