import fs from 'node:fs/promises'
import { describe, expect, it } from 'vitest'
import type { CacheEntry } from '../../../src/core/ports/index.js'
import type { DiskStore } from '../../../src/store/disk/disk-store.js'
import type { EvictReason } from '../../../src/store/disk/options.js'
import { canonicalWav } from '../../fakes/wav.js'
import { keyOf, listFiles, renderInto, slotMeta } from '../../harness/store/fixtures.js'
import { openTestStore } from '../../harness/store/open-store.js'

const WAV = canonicalWav() // 100 ms at 8 kHz
const WAV_BYTES = WAV.length

async function put(store: DiskStore, label: string, pinned = false): Promise<CacheEntry> {
  const claim = await store.claim(keyOf(label))
  if (claim.state !== 'owned') throw new Error(`expected to own ${label}, got ${claim.state}`)
  return claim.slot.commit(slotMeta({ text: label, pinned }), await renderInto(claim.slot, WAV))
}

async function exists(file: string): Promise<boolean> {
  return fs.stat(file).then(
    () => true,
    () => false,
  )
}

describe('DiskStore eviction by bytes', () => {
  it('evicts the least recently used entry, deletes its files, and reports it', async () => {
    const evicted: [string, EvictReason][] = []
    const { store } = await openTestStore({
      maxCacheBytes: 3 * WAV_BYTES,
      onEvict: (entry, reason) => evicted.push([entry.key === keyOf('b') ? 'b' : entry.key, reason]),
    })
    const a = await put(store, 'a')
    const b = await put(store, 'b')
    await put(store, 'c')
    expect(store.lookup(a.key)).toBeDefined() // a is now more recent than b
    await put(store, 'd')
    await store.idle()

    expect(evicted).toEqual([['b', 'size']])
    expect(store.peek(b.key)).toBeUndefined()
    expect(await exists(b.path)).toBe(false)
    expect(await exists(b.path.replace(/\.wav$/, '.json'))).toBe(false)
    expect(await exists(a.path)).toBe(true)
    expect(store.stats()).toMatchObject({ entries: 3, bytes: 3 * WAV_BYTES, evictions: 1, maxBytes: 3 * WAV_BYTES })
  })

  it('peek does not refresh recency; lookup does', async () => {
    const { store } = await openTestStore({ maxCacheBytes: 2 * WAV_BYTES })
    const a = await put(store, 'a')
    const b = await put(store, 'b')
    expect(store.peek(a.key)).toBeDefined()
    await put(store, 'c')
    expect(store.peek(a.key)).toBeUndefined()
    expect(store.lookup(b.key)).toBeDefined()
    await put(store, 'd')
    expect(store.peek(b.key)).toBeDefined()
  })

  it('never evicts pinned entries, which stay outside the byte budget', async () => {
    const { store } = await openTestStore({ maxCacheBytes: 2 * WAV_BYTES })
    const prompt = await put(store, 'welcome prompt', true)
    for (let i = 0; i < 10; i++) await put(store, `filler ${i}`)
    await store.idle()
    expect(store.lookup(prompt.key)?.pinned).toBe(true)
    expect(await exists(prompt.path)).toBe(true)
    expect(store.stats()).toMatchObject({ entries: 3, bytes: 3 * WAV_BYTES, pinnedEntries: 1, pinnedBytes: WAV_BYTES, evictions: 8 })
  })

  it('pin() moves an entry out of the LRU and persists the flag in its sidecar', async () => {
    const { store, reopen } = await openTestStore({ maxCacheBytes: 2 * WAV_BYTES })
    const entry = await put(store, 'pin me')
    await store.pin(entry.key)
    await store.pin(entry.key) // idempotent
    expect(store.peek(entry.key)?.pinned).toBe(true)
    const sidecar = JSON.parse(await fs.readFile(entry.path.replace(/\.wav$/, '.json'), 'utf8')) as { pinned: boolean }
    expect(sidecar.pinned).toBe(true)
    for (let i = 0; i < 5; i++) await put(store, `filler ${i}`)
    expect(store.lookup(entry.key)).toBeDefined()
    const again = await reopen()
    expect(again.peek(entry.key)?.pinned).toBe(true)
  })

  it('pin() of an unknown key fails with TTS_ERR_NOT_FOUND', async () => {
    const { store } = await openTestStore()
    await expect(store.pin(keyOf('never cached'))).rejects.toMatchObject({ code: 'TTS_ERR_NOT_FOUND' })
  })

  it('a forced re-render of a pinned entry keeps it pinned', async () => {
    const { store } = await openTestStore()
    const entry = await put(store, 'pinned prompt', true)
    const claim = await store.claim(entry.key, { replace: true })
    if (claim.state !== 'owned') throw new Error('expected owned')
    const again = await claim.slot.commit(slotMeta({ pinned: false }), await renderInto(claim.slot))
    expect(again.pinned).toBe(true)
  })
})

describe('DiskStore expiry (maxAgeMs, injected clock)', () => {
  it('drops an entry older than maxAgeMs on lookup and deletes its files', async () => {
    const evicted: EvictReason[] = []
    const { store, clock } = await openTestStore({ maxAgeMs: 60_000, onEvict: (_e, reason) => evicted.push(reason) })
    const entry = await put(store, 'old news')
    clock.advance(60_000)
    expect(store.lookup(entry.key)).toBeDefined()
    clock.advance(1)
    expect(store.peek(entry.key)).toBeUndefined()
    expect([...store.entries()]).toEqual([])
    expect(await exists(entry.path)).toBe(true) // peek and entries() change nothing
    expect(store.lookup(entry.key)).toBeUndefined()
    await store.idle()
    expect(await exists(entry.path)).toBe(false)
    expect(evicted).toEqual(['expired'])
    expect(store.stats()).toMatchObject({ entries: 0, evictions: 1 })
  })

  it('never expires pinned entries', async () => {
    const { store, clock } = await openTestStore({ maxAgeMs: 1000 })
    const entry = await put(store, 'forever', true)
    clock.advance(10_000_000)
    expect(store.lookup(entry.key)?.key).toBe(entry.key)
  })

  it('a claim does not count an expired file on disk: the caller renders it again', async () => {
    const { store, clock, reopen } = await openTestStore({ maxAgeMs: 1000 })
    const other = await reopen()
    const entry = await put(store, 'stale on disk')
    clock.advance(1001)
    const claim = await other.claim(entry.key)
    expect(claim.state).toBe('owned')
    if (claim.state === 'owned') await claim.slot.release()
  })

  it('maxAgeMs 0 keeps entries forever', async () => {
    const { store, clock } = await openTestStore({ maxAgeMs: 0 })
    const entry = await put(store, 'keeper')
    clock.advance(10 * 365 * 86_400_000)
    expect(store.lookup(entry.key)).toBeDefined()
  })
})

describe('DiskStore removal', () => {
  it('remove() deletes one entry, pinned or not, and says whether there was one', async () => {
    const { store, dir } = await openTestStore()
    const a = await put(store, 'a', true)
    expect(await store.remove(a.key)).toBe(true)
    expect(await store.remove(a.key)).toBe(false)
    expect(store.lookup(a.key)).toBeUndefined()
    expect(await listFiles(dir)).toEqual([])
  })

  it('removeWhere() deletes the entries matching every given field', async () => {
    const { store } = await openTestStore()
    const put3 = async (label: string, voice: string, engine: string): Promise<CacheEntry> => {
      const claim = await store.claim(keyOf(label))
      if (claim.state !== 'owned') throw new Error('expected owned')
      return claim.slot.commit(slotMeta({ text: label, voice, engine }), await renderInto(claim.slot))
    }
    const enEspeak = await put3('1', 'en', 'espeak-ng')
    const deEspeak = await put3('2', 'de', 'espeak-ng')
    const enFlite = await put3('3', 'en', 'flite')
    await store.pin(enFlite.key)

    expect(await store.removeWhere({ voice: 'en', engine: 'espeak-ng' })).toBe(1)
    expect(store.peek(enEspeak.key)).toBeUndefined()
    expect(await exists(enEspeak.path)).toBe(false)
    expect(await store.removeWhere({ voice: 'en' })).toBe(1)
    expect(store.peek(enFlite.key)).toBeUndefined()
    expect(await store.removeWhere({ engine: 'flite' })).toBe(0)
    expect([...store.entries()].map((e) => e.key)).toEqual([deEspeak.key])
  })

  it('removeAll() empties the index and the directory tree of entries', async () => {
    const { store, dir } = await openTestStore()
    await put(store, 'a')
    await put(store, 'b', true)
    await put(store, 'c')
    expect(await store.removeAll()).toBe(3)
    expect(store.stats()).toMatchObject({ entries: 0, bytes: 0, pinnedEntries: 0, pinnedBytes: 0 })
    expect(await listFiles(dir)).toEqual([])
  })

  it('entries() lists pinned entries first, then most to least recently used', async () => {
    const { store } = await openTestStore()
    const a = await put(store, 'a')
    const b = await put(store, 'b')
    const p = await put(store, 'p', true)
    store.lookup(a.key)
    expect([...store.entries()].map((e) => e.key)).toEqual([p.key, a.key, b.key])
  })
})
