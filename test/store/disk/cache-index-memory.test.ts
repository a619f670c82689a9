/**
 * The index's memory per entry (issue 19 goal 4: RSS ≤ 150 MiB with 100k entries), and the LRU
 * behind it (recency, eviction by bytes, iteration order). Bytes are counted on the heap and in
 * ArrayBuffers after a full GC, the keys left out (they exist whatever the index keeps).
 */
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { describe, expect, it } from 'vitest'
import { CacheIndex } from '../../../src/store/disk/cache-index.js'
import { cacheEntryOf, entryFields } from '../../../src/store/disk/entry-files.js'
import { EntryLru } from '../../../src/store/disk/entry-lru.js'
import { CacheLayout } from '../../../src/store/disk/layout.js'
import { StringPool } from '../../../src/store/disk/string-pool.js'

setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc') as () => void

function used(): number {
  gc()
  gc()
  const m = process.memoryUsage()
  return m.heapUsed + m.arrayBuffers
}

function keyAt(i: number): string {
  return i.toString(16).padStart(64, '0')
}

const CREATED_AT = Date.parse('2026-01-01T00:00:00Z')

describe('CacheIndex memory', () => {
  it('100k indexed entries cost at most 175 bytes each besides their keys (205 with lru-cache and 11-field entries)', () => {
    const layout = new CacheLayout('/nonexistent/cache')
    const pool = new StringPool()
    const n = 100_000
    const keys = Array.from({ length: n }, (_, i) => keyAt(i))
    const index = new CacheIndex({ maxBytes: 1e15, maxAgeMs: 0, clock: { now: () => CREATED_AT }, onDropped: () => undefined })
    const before = used()
    for (let i = 0; i < n; i++) {
      const meta = { key: keys[i] ?? '', voice: 'en-us', engine: 'espeak-ng', engineVersion: '1.51', sampleRate: 8000, format: 'wav/pcm16' }
      index.add(cacheEntryOf(layout, { ...meta, bytes: 100_000 + i, durationMs: 6000 + i, createdAt: CREATED_AT + i, pinned: false, fileTag: i | 0 }, pool))
    }
    const perEntry = (used() - before) / n
    expect(index.stats().entries).toBe(n)
    expect(perEntry).toBeLessThanOrEqual(175)
  })
})

describe('index entries', () => {
  it('read their own voice, engine, version, rate, format and pinned state, one shared profile per combination', () => {
    const layout = new CacheLayout('/nonexistent/cache')
    const base = { engine: 'espeak-ng', engineVersion: '1.51', sampleRate: 8000, format: 'wav/pcm16', bytes: 10, durationMs: 1, createdAt: CREATED_AT, fileTag: 7 }
    const variants = [
      { voice: 'en-us', pinned: false },
      { voice: 'en-gb', pinned: false },
      { voice: 'en-us', pinned: true },
      { voice: 'en-us', pinned: false, sampleRate: 16000 },
      { voice: 'en-us', pinned: false, engineVersion: '1.52' },
      { voice: 'en-us', pinned: false, engine: 'flite' },
      { voice: 'en-us', pinned: false, format: 'other' },
      { voice: 'en-us', pinned: false },
    ]
    const entries = variants.map((v, i) => cacheEntryOf(layout, { ...base, ...v, key: keyAt(i) }))
    entries.forEach((entry, i) => {
      const expected = { ...base, ...variants[i], key: keyAt(i) }
      expect({ ...entryFields(entry), path: entry.path }).toEqual({ ...expected, path: layout.wavPath(keyAt(i)) })
      expect(JSON.parse(JSON.stringify(entry))).toEqual({ ...expected, path: layout.wavPath(keyAt(i)) })
    })
    const profileOf = (entry: object) => (entry as { profile: unknown }).profile
    expect(profileOf(entries[7] ?? {})).toBe(profileOf(entries[0] ?? {}))
    expect(new Set(entries.map(profileOf)).size).toBe(7)
    expect(Object.isFrozen(entries[0])).toBe(true)
  })
})

describe('EntryLru', () => {
  const entry = (key: string, bytes = 10) => ({ key, bytes })

  it('evicts the least recently used first, a get refreshing recency, until the bytes fit', () => {
    const evicted: string[] = []
    const lru = new EntryLru<{ key: string; bytes: number }>(30, (v) => evicted.push(v.key))
    for (const k of ['a', 'b', 'c']) lru.set(entry(k))
    expect(lru.get('a')?.key).toBe('a')
    lru.set(entry('d'))
    expect(evicted).toEqual(['b'])
    lru.set(entry('e', 20))
    expect(evicted).toEqual(['b', 'c', 'a'])
    expect([...lru.values()].map((v) => v.key)).toEqual(['e', 'd'])
    expect(lru.calculatedSize).toBe(30)
    expect(lru.size).toBe(2)
  })

  it('peek and has leave recency alone; delete returns the value without evicting it; freed slots are reused', () => {
    const evicted: string[] = []
    const lru = new EntryLru<{ key: string; bytes: number }>(30, (v) => evicted.push(v.key))
    for (const k of ['a', 'b', 'c']) lru.set(entry(k))
    expect(lru.peek('a')?.key).toBe('a')
    expect(lru.has('a')).toBe(true)
    expect(lru.delete('b')?.key).toBe('b')
    expect(lru.delete('b')).toBeUndefined()
    expect([...lru.values()].map((v) => v.key)).toEqual(['c', 'a'])
    lru.set(entry('d'))
    lru.set(entry('e'))
    expect(evicted).toEqual(['a'])
    expect([...lru.values()].map((v) => v.key)).toEqual(['e', 'd', 'c'])
    for (const k of ['c', 'd', 'e']) lru.delete(k)
    expect(lru.size).toBe(0)
    expect([...lru.values()]).toEqual([])
    lru.set(entry('f', 0))
    expect(lru.calculatedSize).toBe(1) // an empty WAV still counts one byte
    expect(lru.get('f')?.key).toBe('f')
  })

  it('keeps the order through growth and many moves (against a reference model)', () => {
    const lru = new EntryLru<{ key: string; bytes: number }>(1e9, () => undefined)
    const model: string[] = [] // least recent first
    let seed = 7
    const next = (m: number) => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % m
    for (let step = 0; step < 5000; step++) {
      const k = `k${next(300)}`
      const op = next(3)
      if (op === 0) {
        if (lru.has(k)) lru.delete(k)
        lru.set(entry(k))
        if (model.includes(k)) model.splice(model.indexOf(k), 1)
        model.push(k)
      } else if (op === 1) {
        expect(lru.get(k)?.key).toBe(model.includes(k) ? k : undefined)
        if (model.includes(k)) model.push(...model.splice(model.indexOf(k), 1))
      } else {
        expect(lru.delete(k)?.key).toBe(model.includes(k) ? k : undefined)
        if (model.includes(k)) model.splice(model.indexOf(k), 1)
      }
    }
    expect([...lru.values()].map((v) => v.key)).toEqual([...model].reverse())
    expect(lru.size).toBe(model.length)
  })
})
