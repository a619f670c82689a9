/**
 * Two processes on one cache directory: real child processes (test/harness/store/child.ts),
 * sequenced by handshakes on their stdout and our log, never by sleeping.
 */
import { spawn } from 'node:child_process'
import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { TtsError } from '../../../src/core/errors.js'
import type { ClaimResult } from '../../../src/core/ports/index.js'
import { spawnStoreChild, type StoreChild } from '../../harness/store/child-process.js'
import { keyOf, listFiles } from '../../harness/store/fixtures.js'
import { type LogRecord, type RecordingLogger } from '../../fakes/recording-logger.js'
import { openTestStore } from '../../harness/store/open-store.js'

const children: StoreChild[] = []
afterEach(async () => {
  await Promise.all(children.splice(0).map((child) => child.kill()))
})

function start(mode: 'crash' | 'hold', dir: string, key: string): StoreChild {
  const child = spawnStoreChild(mode, dir, key)
  children.push(child)
  return child
}

/** The pid of a process that has exited (a dead lock owner). */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' })
  await new Promise((resolve) => child.on('exit', resolve))
  if (child.pid === undefined) throw new Error('no pid')
  return child.pid
}

async function exists(file: string): Promise<boolean> {
  return fs.stat(file).then(
    () => true,
    () => false,
  )
}

/** A waiting claim has looked at the lock and gone to sleep on it. */
function waitingFor(logger: RecordingLogger, key: string): Promise<LogRecord> {
  return logger.waitFor((r) => r.msg === 'waiting for render lock' && r.obj['key'] === key)
}

describe('crash safety', () => {
  it('leaves no partial WAV, temp file or lock visible after renderers are SIGKILLed mid-write', async () => {
    const { dir, reopen } = await openTestStore()
    for (let round = 0; round < 3; round++) {
      const keys = [0, 1].map((i) => keyOf(`crash ${round}.${i}`))
      const crashing = keys.map((key) => start('crash', dir, key))
      const tempPaths = await Promise.all(crashing.map(async (child) => (await child.nextLine()).replace(/^ready /, '')))
      for (const [i, key] of keys.entries()) {
        expect(await exists(tempPaths[i] ?? '')).toBe(true) // half a WAV, under its temp name
        expect(await exists(path.join(path.dirname(tempPaths[i] ?? ''), `${key}.lock`))).toBe(true)
      }
      expect(await Promise.all(crashing.map((child) => child.kill('SIGKILL')))).toEqual(['SIGKILL', 'SIGKILL'])

      const store = await reopen()
      expect(store.scanReport).toMatchObject({ removedTemps: 2, removedLocks: 2, entries: 0, errors: 0 })
      expect(await listFiles(dir)).toEqual([])
      for (const key of keys) {
        expect(store.lookup(key)).toBeUndefined()
        expect(await exists(store.pathFor(key))).toBe(false)
      }
    }
  })
})

describe('cross-process render lock', () => {
  it('a claim waits while another process holds the lock, and gets its published entry', async () => {
    // lockPollMs is huge: only the fs.watch event can wake the waiter in time.
    const { store, dir, logger } = await openTestStore({ lockPollMs: 3_600_000 })
    const key = keyOf('peer publishes')
    const peer = start('hold', dir, key)
    expect(await peer.nextLine()).toMatch(/^owned /)
    const waiting = store.claim(key)
    await waitingFor(logger, key)
    peer.send('publish')
    expect(await peer.nextLine()).toBe('published')
    const result = await waiting
    expect(result.state).toBe('published-by-peer')
    expect(result.state === 'published-by-peer' && result.entry).toMatchObject({ key, createdAt: expect.any(Number) })
    expect(store.lookup(key)).toBe(result.state === 'published-by-peer' ? result.entry : undefined)
    expect((await store.describe(key))?.text).toBe('from the child')
  })

  it('takes the lock over when the holder releases it without publishing', async () => {
    const { store, dir, logger } = await openTestStore({ lockPollMs: 3_600_000 })
    const key = keyOf('peer gives up')
    const peer = start('hold', dir, key)
    await peer.nextLine()
    const waiting = store.claim(key)
    await waitingFor(logger, key)
    peer.send('release')
    expect(await peer.nextLine()).toBe('released')
    const result = await waiting
    expect(result.state).toBe('owned')
    if (result.state === 'owned') await result.slot.release()
  })

  it('takes the lock over when the holder dies with it (found by the fallback check)', async () => {
    const { store, dir, logger } = await openTestStore({ lockPollMs: 20 })
    const key = keyOf('peer dies')
    const peer = start('hold', dir, key)
    await peer.nextLine()
    const waiting = store.claim(key)
    await waitingFor(logger, key)
    peer.send('exit')
    expect(await peer.exited).toBe(0)
    const result = await waiting
    expect(result.state).toBe('owned')
    expect(logger.atLevel('warn').some((r) => r.msg === 'taking over a stale render lock')).toBe(true)
    if (result.state === 'owned') await result.slot.release()
  })

  it('recovers a lock whose owner pid is dead at once, without waiting for the fallback check', async () => {
    const { store, logger } = await openTestStore({ lockPollMs: 3_600_000 })
    const key = keyOf('dead owner')
    const lockPath = store.pathFor(key).replace(/\.wav$/, '.lock')
    await fs.mkdir(path.dirname(lockPath), { recursive: true })
    const pid = await deadPid()
    await fs.writeFile(lockPath, JSON.stringify({ pid, hostname: os.hostname(), createdAt: Date.now(), token: 'x' }))
    const result = await store.claim(key)
    expect(result.state).toBe('owned')
    const warn = logger.atLevel('warn').find((r) => r.msg === 'taking over a stale render lock')
    expect(warn?.obj['reason']).toBe(`owner pid ${pid} is not alive`)
    if (result.state === 'owned') await result.slot.release()
    expect(await exists(lockPath)).toBe(false)
  })

  it('treats another host’s lock as live until it is older than staleLockMs', async () => {
    const { store, logger } = await openTestStore({ lockPollMs: 3_600_000, staleLockMs: 30_000 })
    const fresh = keyOf('remote fresh')
    const old = keyOf('remote old')
    for (const [key, createdAt] of [[fresh, Date.now()], [old, Date.now() - 31_000]] as const) {
      const lockPath = store.pathFor(key).replace(/\.wav$/, '.lock')
      await fs.mkdir(path.dirname(lockPath), { recursive: true })
      await fs.writeFile(lockPath, JSON.stringify({ pid: 1, hostname: `not-${os.hostname()}`, createdAt, token: 'y' }))
    }
    const taken = await store.claim(old)
    expect(taken.state).toBe('owned')
    if (taken.state === 'owned') await taken.slot.release()

    const controller = new AbortController()
    const waiting = store.claim(fresh, { signal: controller.signal })
    await waitingFor(logger, fresh)
    controller.abort()
    await expect(waiting).rejects.toMatchObject({ code: 'TTS_ERR_ABORTED' })
  })

  it('an aborted waiter rejects with TTS_ERR_ABORTED (or the TtsError reason) and leaves the holder alone', async () => {
    const { store, dir, logger } = await openTestStore({ lockPollMs: 3_600_000 })
    const key = keyOf('impatient caller')
    const peer = start('hold', dir, key)
    await peer.nextLine()
    const controller = new AbortController()
    const waiting = store.claim(key, { signal: controller.signal })
    await waitingFor(logger, key)
    const reason = new TtsError('TTS_ERR_DEADLINE_EXCEEDED', { args: [3000] })
    controller.abort(reason)
    await expect(waiting).rejects.toBe(reason)

    const second = new AbortController()
    const nowWaiting = logger.next((r) => r.msg === 'waiting for render lock')
    const waitingAgain: Promise<ClaimResult> = store.claim(key, { signal: second.signal })
    await nowWaiting
    second.abort()
    await expect(waitingAgain).rejects.toMatchObject({ code: 'TTS_ERR_ABORTED' })

    peer.send('publish')
    expect(await peer.nextLine()).toBe('published')
    expect((await store.claim(key)).state).toBe('exists')
  })
})
