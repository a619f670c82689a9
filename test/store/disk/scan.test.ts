import { spawn } from 'node:child_process'
import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import type { EntryMeta } from '../../../src/core/ports/index.js'
import { canonicalWav } from '../../fakes/wav.js'
import { FakeClock } from '../../fakes/clock.js'
import { keyOf, listFiles, makeTempDir, removeDir, writeCacheEntries } from '../../harness/store/fixtures.js'
import { RecordingLogger } from '../../fakes/recording-logger.js'
import { openTestStore } from '../../harness/store/open-store.js'
import { DiskStore } from '../../../src/store/disk/disk-store.js'
import { afterEach } from 'vitest'

const dirs: string[] = []
afterEach(async () => {
  await Promise.all(dirs.splice(0).map(removeDir))
})

async function tempCacheDir(): Promise<string> {
  const dir = await makeTempDir()
  dirs.push(dir)
  return dir
}

function leafOf(dir: string, key: string): string {
  return path.join(dir, key.slice(0, 2), key.slice(2, 4))
}

function metaFor(key: string, overrides: Partial<EntryMeta> = {}): EntryMeta {
  return {
    key, text: 'scan me', voice: 'en-us', engine: 'espeak-ng', engineVersion: '1.51', sampleRate: 8000,
    format: 'wav-pcm16-mono', bytes: canonicalWav().length, durationMs: 100, createdAt: 1_700_000_000_000, pinned: false,
    ...overrides,
  }
}

/** Writes files for `key` straight into the tree: `wav` and/or `sidecar` (string or meta). */
async function plant(dir: string, key: string, files: { wav?: Buffer; sidecar?: string | EntryMeta; extra?: Record<string, string> }): Promise<void> {
  const leaf = leafOf(dir, key)
  await fs.mkdir(leaf, { recursive: true })
  if (files.wav !== undefined) await fs.writeFile(path.join(leaf, `${key}.wav`), files.wav)
  if (files.sidecar !== undefined) {
    const text = typeof files.sidecar === 'string' ? files.sidecar : JSON.stringify(files.sidecar)
    await fs.writeFile(path.join(leaf, `${key}.json`), text)
  }
  for (const [name, content] of Object.entries(files.extra ?? {})) await fs.writeFile(path.join(leaf, name), content)
}

async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' })
  await new Promise((resolve) => child.on('exit', resolve))
  return child.pid ?? 0
}

async function open(dir: string, options: { maxAgeMs?: number; maxCacheBytes?: number; scanProcesses?: number; clock?: FakeClock } = {}): Promise<DiskStore> {
  const store = await DiskStore.open({ cacheDir: dir, logger: new RecordingLogger(), clock: options.clock ?? new FakeClock(), ...options })
  await store.idle()
  return store
}

describe('start-up scan', () => {
  it('indexes every valid entry, the same with child processes or inline', async () => {
    const dir = await tempCacheDir()
    const { keys } = await writeCacheEntries(dir, 300, { pinnedEvery: 10 })
    const forked = await open(dir, { scanProcesses: 2 })
    const inline = await open(dir, { scanProcesses: 0 })
    expect(forked.scanReport).toMatchObject({ entries: 300, pinnedEntries: 30, processes: 2, errors: 0, foreignFiles: 0 })
    expect(inline.scanReport).toMatchObject({ entries: 300, pinnedEntries: 30, processes: 0 })
    const byKey = (store: DiskStore): string[] => [...store.entries()].map((e) => e.key).sort()
    expect(byKey(forked)).toEqual([...keys].sort())
    expect(byKey(inline)).toEqual(byKey(forked))
    const key = keys[7] ?? ''
    expect(forked.peek(key)).toEqual(inline.peek(key))
    expect(forked.peek(key)).toMatchObject({ key, bytes: canonicalWav().length, durationMs: 100, path: forked.pathFor(key) })
    expect(await forked.describe(key)).toMatchObject({ key, text: 'Prompt number 7, please hold.' })
  })

  it('inserts entries oldest first: over budget at start, the oldest are evicted and deleted', async () => {
    const dir = await tempCacheDir()
    const { keys } = await writeCacheEntries(dir, 5)
    const store = await open(dir, { maxCacheBytes: 2 * canonicalWav().length })
    expect(store.stats()).toMatchObject({ entries: 2, evictions: 3 })
    expect([...store.entries()].map((e) => e.key)).toEqual([keys[4], keys[3]])
    expect(await listFiles(dir)).toHaveLength(4)
  })

  it('deletes entries whose WAV or sidecar fails validation, and lone WAVs or sidecars', async () => {
    const dir = await tempCacheDir()
    const [good, truncated, wrongRate, garbageSidecar, wrongKey, badField, loneWav, loneSidecar] = Array.from({ length: 8 }, (_, i) => keyOf(`case ${i}`))
    await plant(dir, good!, { wav: canonicalWav(), sidecar: metaFor(good!) })
    await plant(dir, truncated!, { wav: canonicalWav({ truncateTo: 300 }), sidecar: metaFor(truncated!) })
    await plant(dir, wrongRate!, { wav: canonicalWav({ sampleRate: 16000 }), sidecar: metaFor(wrongRate!) })
    await plant(dir, garbageSidecar!, { wav: canonicalWav(), sidecar: '{"key": "trunc' })
    await plant(dir, wrongKey!, { wav: canonicalWav(), sidecar: metaFor(good!) })
    await plant(dir, badField!, { wav: canonicalWav(), sidecar: JSON.stringify({ ...metaFor(badField!), sampleRate: '8000' }) })
    await plant(dir, loneWav!, { wav: canonicalWav() })
    await plant(dir, loneSidecar!, { sidecar: metaFor(loneSidecar!) })

    const store = await open(dir)
    expect(store.scanReport).toMatchObject({ entries: 1, removedInvalid: 5, removedOrphans: 2, errors: 0 })
    expect([...store.entries()].map((e) => e.key)).toEqual([good])
    const leaf = `${good!.slice(0, 2)}/${good!.slice(2, 4)}`
    expect(await listFiles(dir)).toEqual([`${leaf}/${good}.json`, `${leaf}/${good}.wav`])
  })

  it('deletes temp files of dead processes and old ones, keeps a live process’s fresh temp file', async () => {
    const dir = await tempCacheDir()
    const key = keyOf('temps')
    const dead = await deadPid()
    const deadTemp = `${key}.${dead}.00aa11bb22cc.tmp.wav`
    const liveTemp = `${key}.${process.pid}.33dd44ee55ff.tmp.wav`
    const oldTemp = `${key}.${process.pid}.66aa77bb88cc.tmp.json`
    const asideLock = `${key}.${dead}.99aa00bb11cc.tmp.lock`
    // The engine's scratch output beside a slot's temp file (src/engines/pipeline/render-audio.ts).
    const engineScratch = `${deadTemp}.engine.wav`
    // Beside a valid entry, so the temp names must not be mistaken for parts of it.
    await plant(dir, key, { wav: canonicalWav(), sidecar: metaFor(key), extra: { [deadTemp]: 'half', [liveTemp]: 'half', [oldTemp]: '{', [asideLock]: '{}', [engineScratch]: 'RIFF' } })
    const longAgo = new Date(Date.now() - 3_600_000)
    await fs.utimes(path.join(leafOf(dir, key), oldTemp), longAgo, longAgo)

    const store = await open(dir)
    expect(store.scanReport).toMatchObject({ removedTemps: 4, entries: 1 })
    expect((await fs.readdir(leafOf(dir, key))).sort()).toEqual([`${key}.json`, `${key}.wav`, liveTemp].sort())
  })

  it('deletes stale locks; leaves a live lock and the files of its key alone', async () => {
    const dir = await tempCacheDir()
    const stale = keyOf('stale lock')
    const live = keyOf('live lock')
    const lock = (pid: number): string => JSON.stringify({ pid, hostname: os.hostname(), createdAt: Date.now(), token: 't' })
    await plant(dir, stale, { extra: { [`${stale}.lock`]: lock(await deadPid()) } })
    // A peer mid-commit: lock held, sidecar written, WAV not yet renamed into place.
    await plant(dir, live, { sidecar: metaFor(live), extra: { [`${live}.lock`]: lock(process.pid) } })

    const store = await open(dir)
    expect(store.scanReport).toMatchObject({ removedLocks: 1, removedOrphans: 0 })
    expect(await fs.readdir(leafOf(dir, stale))).toEqual([])
    expect((await fs.readdir(leafOf(dir, live))).sort()).toEqual([`${live}.json`, `${live}.lock`])
  })

  it('deletes expired entries at start but keeps pinned ones', async () => {
    const dir = await tempCacheDir()
    const clock = new FakeClock(1_700_000_000_000 + 10_000)
    const [old, young, pinnedOld] = ['old', 'young', 'pinned'].map(keyOf)
    await plant(dir, old!, { wav: canonicalWav(), sidecar: metaFor(old!, { createdAt: clock.now() - 5001 }) })
    await plant(dir, young!, { wav: canonicalWav(), sidecar: metaFor(young!, { createdAt: clock.now() - 10 }) })
    await plant(dir, pinnedOld!, { wav: canonicalWav(), sidecar: metaFor(pinnedOld!, { createdAt: 0, pinned: true }) })
    const store = await open(dir, { maxAgeMs: 5000, clock })
    expect(store.scanReport).toMatchObject({ entries: 2, removedExpired: 1 })
    expect(store.peek(old!)).toBeUndefined()
    expect(await fs.readdir(leafOf(dir, old!))).toEqual([])
  })

  it('leaves files it did not write alone', async () => {
    const dir = await tempCacheDir()
    const key = keyOf('neighbour')
    await plant(dir, key, { wav: canonicalWav(), sidecar: metaFor(key), extra: { 'notes.txt': 'mine', [`${keyOf('elsewhere')}.wav`]: 'x' } })
    await fs.writeFile(path.join(dir, 'README'), 'cache')
    await fs.mkdir(path.join(dir, 'lost+found'))
    const store = await open(dir)
    expect(store.scanReport).toMatchObject({ entries: 1, foreignFiles: 2 })
    expect(await listFiles(dir)).toContain('README')
    expect(await listFiles(dir)).toContain(`${key.slice(0, 2)}/${key.slice(2, 4)}/notes.txt`)
  })

  it('creates a missing cache directory', async () => {
    const parent = await tempCacheDir()
    const { store } = await openTestStore({}, path.join(parent, 'deep', 'cache'))
    expect(store.scanReport).toMatchObject({ entries: 0 })
    expect((await fs.stat(path.join(parent, 'deep', 'cache'))).isDirectory()).toBe(true)
  })
})
