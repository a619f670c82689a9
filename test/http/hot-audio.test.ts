/**
 * HotAudio's admission (issue 19, goal 4): a file is kept in memory only once asked for again (or
 * by several callers sharing one read), so a long tail of files asked for once never pushes the
 * hot ones out. Real files on disk, real reads.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { CacheEntry } from '../../src/core/ports/index.js'
import { HotAudio } from '../../src/http/hot-audio.js'

const KIB = 1024
let dir: string

beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'hot-audio-'))
})

afterEach(async () => {
  await rm(dir, { recursive: true, force: true })
})

/** A file of `bytes` bytes on disk, and its index entry. */
async function fileEntry(name: string, bytes = 10 * KIB): Promise<CacheEntry> {
  const key = name.padStart(64, '0')
  const file = path.join(dir, `${key}.wav`)
  await writeFile(file, Buffer.alloc(bytes, name.charCodeAt(0)))
  return { key, path: file, voice: '', engine: 'espeak-ng', engineVersion: '1', sampleRate: 8000, format: 'wav', bytes, durationMs: 1, createdAt: 0, pinned: false }
}

describe('HotAudio admission', () => {
  it('serves a file read once without keeping it, and keeps it at its second read', async () => {
    const hot = new HotAudio({ maxBytes: 64 * KIB, maxFileBytes: 32 * KIB })
    const a = await fileEntry('a')
    const first = await hot.load(a)
    expect(first?.bytes.length).toBe(a.bytes)
    expect(hot.get(a)).toBeUndefined()
    const second = await hot.load(a)
    expect(hot.get(a)).toBe(second)
    expect(hot.reads).toBe(2)
  })

  it('keeps at once a file whose one read several callers shared (the waiters of a render)', async () => {
    const hot = new HotAudio({ maxBytes: 64 * KIB, maxFileBytes: 32 * KIB })
    const a = await fileEntry('a')
    const [x, y] = await Promise.all([hot.load(a), hot.load(a)])
    expect(x).toBe(y)
    expect(hot.get(a)).toBe(x)
    expect(hot.reads).toBe(1)
  })

  it('keeps a hot file while a long tail of files is each asked for once', async () => {
    // Room for 3 files of 10 KiB: a plain LRU would evict `a` at the third file of the tail.
    const hot = new HotAudio({ maxBytes: 30 * KIB, maxFileBytes: 32 * KIB })
    const a = await fileEntry('a')
    await hot.load(a)
    const kept = await hot.load(a)
    for (const name of 'bcdefghijklmnopq') {
      const once = await fileEntry(name)
      expect((await hot.load(once))?.bytes.equals(Buffer.alloc(once.bytes, name.charCodeAt(0)))).toBe(true)
      expect(hot.get(once)).toBeUndefined()
    }
    expect(hot.get(a)).toBe(kept)
  })

  it('forgets a file asked for once after a window of other first reads (64 keys at 4 MiB and below)', async () => {
    const hot = new HotAudio({ maxBytes: 4096 * KIB, maxFileBytes: 32 * KIB })
    const a = await fileEntry('a', 1 * KIB)
    await hot.load(a)
    for (let i = 0; i < 64; i++) await hot.load(await fileEntry(`t${i}`, 1 * KIB))
    await hot.load(a)
    expect(hot.get(a)).toBeUndefined()
    await hot.load(a)
    expect(hot.get(a)?.bytes.length).toBe(a.bytes)
  })

  it('neither keeps nor remembers bytes read at another length than the entry says', async () => {
    const hot = new HotAudio({ maxBytes: 64 * KIB, maxFileBytes: 32 * KIB })
    const a = await fileEntry('a')
    const changed = { ...a, bytes: a.bytes + 1 }
    for (let i = 0; i < 3; i++) expect((await hot.load(changed))?.bytes.length).toBe(a.bytes)
    expect(hot.get(changed)).toBeUndefined()
    // The file as indexed still needs two reads: the short ones were not counted as asks.
    await hot.load(a)
    expect(hot.get(a)).toBeUndefined()
  })

  it('reads nothing for a file over the per-file bound, or with the cache off', async () => {
    const big = await fileEntry('b', 40 * KIB)
    expect(await new HotAudio({ maxBytes: 64 * KIB, maxFileBytes: 32 * KIB }).load(big)).toBeUndefined()
    const off = new HotAudio({ maxBytes: 0, maxFileBytes: 32 * KIB })
    expect(await off.load(await fileEntry('a'))).toBeUndefined()
    expect(off.reads).toBe(0)
  })
})
