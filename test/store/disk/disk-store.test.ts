import fs from 'node:fs/promises'
import { truncateSync, unlinkSync } from 'node:fs'
import path from 'node:path'
import { setImmediate as nextTurn } from 'node:timers/promises'
import { describe, expect, it } from 'vitest'
import type { CacheEntry } from '../../../src/core/ports/index.js'
import { TtsError } from '../../../src/core/errors.js'
import { DiskStore } from '../../../src/store/disk/disk-store.js'
import { expectTtsError, owned } from '../../contracts/audio-store-contract.js'
import { canonicalWav } from '../../fakes/wav.js'
import { keyOf, listFiles, renderInto, slotMeta } from '../../harness/store/fixtures.js'
import { openTestStore } from '../../harness/store/open-store.js'

describe('DiskStore files', () => {
  it('publishes at <cacheDir>/<k0k1>/<k2k3>/<key>.wav with its sidecar, leaving no temp file or lock', async () => {
    const { store, dir, clock } = await openTestStore()
    const key = keyOf('hello')
    const leaf = path.join(dir, key.slice(0, 2), key.slice(2, 4))
    const slot = owned(await store.claim(key))
    expect(path.dirname(slot.tempPath)).toBe(leaf)
    expect(await fs.readdir(leaf)).toEqual([`${key}.lock`])
    const wav = canonicalWav({ samples: 1600 })
    const entry = await slot.commit(slotMeta({ text: 'hello' }), await renderInto(slot, wav))
    await slot.release()

    expect(entry.path).toBe(path.join(leaf, `${key}.wav`))
    expect(entry.createdAt).toBe(clock.now())
    const sidecar: unknown = JSON.parse(await fs.readFile(path.join(leaf, `${key}.json`), 'utf8'))
    expect(sidecar).toEqual({
      key, text: 'hello', voice: 'en-us', engine: 'espeak-ng', engineVersion: '1.51', sampleRate: 8000,
      format: 'wav-pcm16-mono', bytes: wav.length, durationMs: 200, createdAt: clock.now(), pinned: false,
    })
    expect((await fs.readdir(leaf)).sort()).toEqual([`${key}.json`, `${key}.wav`])
  })

  it('a failed commit leaves nothing in the tree', async () => {
    const { store, dir } = await openTestStore()
    const slot = owned(await store.claim(keyOf('garbage')))
    await fs.writeFile(slot.tempPath, 'not audio')
    await expectTtsError(slot.commit(slotMeta(), { bytes: 9, durationMs: 0 }), 'TTS_ERR_INVALID_AUDIO')
    expect(await listFiles(dir)).toEqual([])
  })

  it('keeps every path it hands out inside cacheDir; bad keys create nothing', async () => {
    const { store, dir } = await openTestStore()
    const key = keyOf('inside')
    expect(store.pathFor(key).startsWith(`${dir}${path.sep}`)).toBe(true)
    const slot = owned(await store.claim(key))
    expect(slot.tempPath.startsWith(`${dir}${path.sep}`)).toBe(true)
    await slot.release()
    await expectTtsError(store.claim('../../../../tmp/evil'), 'TTS_ERR_INVALID_KEY')
    expect(await listFiles(dir)).toEqual([])
  })
})

describe('DiskStore waiting claims (same process)', () => {
  it('a claim waiting on a held lock is woken by the publication, not by polling', async () => {
    // lockPollMs is huge: only the fs.watch event can wake the waiter before the test times out.
    const { store, logger } = await openTestStore({ lockPollMs: 3_600_000 })
    const key = keyOf('in-process race')
    const slot = owned(await store.claim(key))
    const waiting = store.claim(key)
    await logger.waitFor((r) => r.msg === 'waiting for render lock' && r.obj['key'] === key)
    const entry = await slot.commit(slotMeta(), await renderInto(slot))
    await expect(waiting).resolves.toEqual({ state: 'published-by-peer', entry })
  })

  it('a waiting claim takes the key when the owner releases without publishing', async () => {
    const { store, logger } = await openTestStore({ lockPollMs: 3_600_000 })
    const key = keyOf('owner gives up')
    const slot = owned(await store.claim(key))
    const waiting = store.claim(key)
    await logger.waitFor((r) => r.msg === 'waiting for render lock')
    await slot.release()
    await owned(await waiting).release()
  })

  it('abort rejects a waiting claim with the signal’s TtsError reason', async () => {
    const { store, logger } = await openTestStore({ lockPollMs: 3_600_000 })
    const key = keyOf('aborted wait')
    const slot = owned(await store.claim(key))
    const controller = new AbortController()
    const waiting = store.claim(key, { signal: controller.signal })
    await logger.waitFor((r) => r.msg === 'waiting for render lock')
    const reason = new TtsError('TTS_ERR_DEADLINE_EXCEEDED', { args: [100] })
    controller.abort(reason)
    await expect(waiting).rejects.toBe(reason)
    await slot.release()
  })
})

describe('DiskStore restart', () => {
  it('a store opened again on the same directory serves the same entries, pinned flag included', async () => {
    const { store, reopen } = await openTestStore()
    const keys = ['a', 'b', 'c'].map(keyOf)
    for (const key of keys) {
      const slot = owned(await store.claim(key))
      await slot.commit(slotMeta({ text: key.slice(0, 8) }), await renderInto(slot))
    }
    await store.pin(keys[0] ?? '')
    const again = await reopen()
    expect(again.scanReport).toMatchObject({ entries: 3, pinnedEntries: 1, removedInvalid: 0, errors: 0 })
    expect(again.lookup(keys[0] ?? '')?.pinned).toBe(true)
    expect(again.lookup(keys[1] ?? '')).toEqual(store.lookup(keys[1] ?? ''))
    expect(again.stats()).toMatchObject({ entries: 3, pinnedEntries: 1 })
  })
})

describe('DiskStore options', () => {
  it('reports bad options all at once as TTS_ERR_CONFIG', async () => {
    const { dir, logger } = await openTestStore()
    const err = await expectTtsError(DiskStore.open({ cacheDir: dir, logger, maxCacheBytes: 0, staleLockMs: -1, scanProcesses: 1.5 }), 'TTS_ERR_CONFIG')
    expect(err.details['problems']).toHaveLength(3)
  })

  it('fails with TTS_ERR_STORE_IO when cacheDir cannot be a directory', async () => {
    const { dir, logger } = await openTestStore()
    const file = path.join(dir, 'a-file')
    await fs.writeFile(file, '')
    await expectTtsError(DiskStore.open({ cacheDir: path.join(file, 'cache'), logger }), 'TTS_ERR_STORE_IO')
  })
})

describe('DiskStore lookup: one stat per entry per event-loop turn (FileChecks)', () => {
  /** A store holding one committed entry, looked up first in a later turn than its commit. */
  async function storeWithOne(label: string): Promise<{ store: DiskStore; key: string; entry: CacheEntry }> {
    const { store } = await openTestStore()
    const key = keyOf(label)
    const slot = owned(await store.claim(key))
    const entry = await slot.commit(slotMeta(), await renderInto(slot))
    await nextTurn()
    return { store, key, entry }
  }

  it("shares the turn's stat between the lookups of that turn, and stats again in the next turn", async () => {
    const { store, key, entry } = await storeWithOne('turn')
    expect(store.lookup(key)).toBe(entry)
    // Deleted behind the store in the middle of a turn (synchronously, between two lookups of it):
    // the turn's later lookups keep the answer of its stat, as hits answered in the same instant would.
    unlinkSync(entry.path)
    expect(store.lookup(key)).toBe(entry)
    expect(store.stats().stale?.missing).toBe(0)
    // The next turn stats again: gone, dropped and counted.
    await nextTurn()
    expect(store.lookup(key)).toBeUndefined()
    expect(store.stats().stale?.missing).toBe(1)
    expect(store.peek(key)).toBeUndefined()
  })

  it('remembers no mismatch: a file changed before the first lookup of a turn is stale at that lookup', async () => {
    const { store, key, entry } = await storeWithOne('changed')
    truncateSync(entry.path, 100)
    expect(store.lookup(key)).toBeUndefined()
    expect(store.stats().stale?.size).toBe(1)
  })
})
