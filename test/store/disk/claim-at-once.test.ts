/**
 * The uncontended miss is claimed before the event loop turns (issue 19, goal 3): in a burst of
 * N requests for one new phrase, every thread-pool round trip of the claim waited for the poll
 * phase that parses the other requests, so the render started only after all its waiters had
 * been parsed. These tests flush microtasks only (no I/O callback can run meanwhile): whatever
 * settles there did not wait for the loop. Everything else (a lock or a WAV there) still goes the
 * async way.
 */
import fs from 'node:fs/promises'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import type { ClaimResult, RenderJob, RenderQueue } from '../../../src/core/ports/index.js'
import { TtsService } from '../../../src/core/tts-service.js'
import { createLock, newLockOwner, readLock } from '../../../src/store/disk/render-lock.js'
import { silentLogger } from '../../fixtures/engines/helpers.js'
import { FakeEngineCatalog } from '../../fakes/engine-catalogs.js'
import { canonicalWav } from '../../fakes/wav.js'
import { keyOf, renderInto, slotMeta } from '../../harness/store/fixtures.js'
import { openTestStore } from '../../harness/store/open-store.js'

const lockPathOf = (store: { pathFor(key: string): string }, key: string): string => store.pathFor(key).replace(/\.wav$/, '.lock')

/** Runs queued microtasks (never the event loop) until `done()` or `hops` of them: true when done. */
async function withinMicrotasks(done: () => boolean, hops = 1000): Promise<boolean> {
  for (let i = 0; i < hops && !done(); i++) await Promise.resolve()
  return done()
}

/** The promise's outcome if it settles within microtasks, else undefined. */
async function settledWithinMicrotasks<T>(promise: Promise<T>): Promise<{ value: T } | undefined> {
  let outcome: { value: T } | undefined
  let failed: unknown
  promise.then(
    (value) => {
      outcome = { value }
    },
    (err: unknown) => {
      failed = err ?? new Error('rejected')
    },
  )
  await withinMicrotasks(() => outcome !== undefined || failed !== undefined)
  if (failed !== undefined) throw failed
  return outcome
}

describe('claim of an uncontended miss', () => {
  it('owns the key before the event loop turns, with the same lock file, and publishes as usual', async () => {
    const { store } = await openTestStore()
    const key = keyOf('at once')
    const claimed = await settledWithinMicrotasks(store.claim(key))
    expect(claimed?.value.state).toBe('owned')
    const result = claimed?.value as Extract<ClaimResult, { state: 'owned' }>
    const lock = await readLock(lockPathOf(store, key))
    expect(lock?.owner?.pid).toBe(process.pid)
    // The rest is the ordinary slot: render, commit (fsync, rename), release.
    const entry = await result.slot.commit(slotMeta(), await renderInto(result.slot))
    await result.slot.release()
    expect(store.lookup(key)).toBe(entry)
    expect(await readLock(lockPathOf(store, key))).toBeUndefined()
    expect((await fs.readFile(entry.path)).equals(canonicalWav())).toBe(true)
  })

  it('a TtsService miss hands its render to the queue before the event loop turns', async () => {
    const { store } = await openTestStore()
    const jobs: RenderJob[] = []
    const queue: RenderQueue = {
      render: async (job: RenderJob) => {
        jobs.push(job)
        const wav = canonicalWav()
        await fs.writeFile(job.outPath, wav)
        return { bytes: wav.length, durationMs: 100 }
      },
      stats: () => ({ waiting: 0, active: 0, concurrency: 1, limit: 1, drainPerSecond: 0 }),
      close: async () => undefined,
    }
    const service = new TtsService({
      store,
      queue,
      engines: new FakeEngineCatalog(),
      defaults: { engine: 'espeak-ng', voice: 'en', sampleRate: 8000, maxTextChars: 500 },
      logger: silentLogger,
    })
    const first = service.get({ text: 'one render for the whole burst' })
    const second = service.get({ text: 'one render for the whole burst' })
    expect(await withinMicrotasks(() => jobs.length > 0)).toBe(true)
    const results = await Promise.all([first, second])
    expect(results.map((r) => r.status)).toEqual(['rendered', 'coalesced'])
    expect(jobs).toHaveLength(1)
  })

  it('a lock held by someone else is not taken: the claim waits the async way', async () => {
    const { store } = await openTestStore({ lockPollMs: 20 })
    const key = keyOf('held')
    await fs.mkdir(path.dirname(store.pathFor(key)), { recursive: true })
    // A live owner (the test runner's parent), refreshing: not stale.
    const other = { ...newLockOwner(), pid: process.ppid }
    expect(await createLock(lockPathOf(store, key), other)).toBe(true)
    const controller = new AbortController()
    const claim = store.claim(key, { signal: controller.signal })
    expect(await settledWithinMicrotasks(claim)).toBeUndefined()
    controller.abort()
    await expect(claim).rejects.toMatchObject({ code: 'TTS_ERR_ABORTED' })
    expect((await readLock(lockPathOf(store, key)))?.owner?.token).toBe(other.token)
  })

  it('a WAV already on disk (not indexed) is found the async way, not rendered again', async () => {
    const { store, reopen } = await openTestStore()
    const key = keyOf('on disk')
    const owned = await store.claim(key)
    if (owned.state !== 'owned') throw new Error(`expected owned, got ${owned.state}`)
    await owned.slot.commit(slotMeta(), await renderInto(owned.slot))
    await owned.slot.release()
    // A second process's view, whose index has not seen it yet (no background scan).
    const peer = await reopen({ scanInBackground: true })
    const found = await peer.claim(key)
    expect(found.state).toBe('exists')
    expect(await readLock(lockPathOf(store, key))).toBeUndefined()
  })
})
