import fs from 'node:fs/promises'
import path from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import type { Logger } from '../../../src/core/ports/index.js'
import { DiskStore } from '../../../src/store/disk/disk-store.js'
import { canonicalWav } from '../../fakes/wav.js'
import { FakeClock } from '../../fakes/clock.js'
import { keyOf, makeTempDir, removeDir, renderInto, slotMeta, writeCacheEntries } from '../../harness/store/fixtures.js'
import { RecordingLogger } from '../../fakes/recording-logger.js'

const cleanups: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

/** A logger that calls `onWarn` synchronously: the scan warns just before it deletes an invalid entry. */
function warnHook(onWarn: (msg: string | undefined, obj: Record<string, unknown>) => void): Logger {
  const logger: Logger = { debug() {}, info() {}, warn: (obj, msg) => onWarn(msg, obj as Record<string, unknown>), error() {}, child: () => logger }
  return logger
}

/** Plants `key` with a valid WAV and a sidecar that is not one (the scan deletes such entries). */
async function plantBroken(cacheDir: string, key: string): Promise<void> {
  const leaf = path.join(cacheDir, key.slice(0, 2), key.slice(2, 4))
  await fs.mkdir(leaf, { recursive: true })
  await fs.writeFile(path.join(leaf, `${key}.wav`), canonicalWav())
  await fs.writeFile(path.join(leaf, `${key}.json`), '{"not": "a sidecar"}')
}

/** A cache dir holding `count` valid entries, and a store opened on it with the scan started in the background. */
async function openScanning(count: number, options: { scanProcesses?: number; setUp?: (dir: string) => Promise<void>; logger?: Logger; start?: boolean } = {}) {
  const dir = await makeTempDir()
  cleanups.push(() => removeDir(dir))
  const { keys } = await writeCacheEntries(dir, count)
  await options.setUp?.(dir)
  const logger = options.logger ?? new RecordingLogger()
  const store = await DiskStore.open({ cacheDir: dir, logger, clock: new FakeClock(), scanInBackground: true, scanProcesses: options.scanProcesses ?? 2 })
  cleanups.push(() => store.close())
  if (options.start !== false) store.startScan()
  return { dir, keys, store, logger }
}

function wavOf(dir: string, key: string): string {
  return path.join(dir, key.slice(0, 2), key.slice(2, 4), `${key}.wav`)
}

async function exists(file: string): Promise<boolean> {
  return fs.stat(file).then(
    () => true,
    () => false,
  )
}

describe('DiskStore with the scan in the background', () => {
  it.each([2, 0])('open returns while the scan runs (%i processes); it then indexes everything', async (scanProcesses) => {
    const { store, keys } = await openScanning(200, { scanProcesses })
    // The scan needs I/O to make progress, so it cannot have ended when open resolves.
    expect(store.indexing.state).toBe('scanning')
    expect(store.scanReport).toBeUndefined()
    await store.indexed()
    expect(store.indexing.state).toBe('done')
    expect(store.scanReport).toMatchObject({ entries: 200, errors: 0 })
    expect(store.stats().entries).toBe(200)
    for (const key of keys) expect(store.peek(key)?.key).toBe(key)
  })

  it('scans nothing until startScan; cached keys are found on disk meanwhile', async () => {
    const { store, keys } = await openScanning(30, { start: false })
    await new Promise((resolve) => setImmediate(resolve))
    expect(store.stats().entries).toBe(0)
    expect(store.indexing.state).toBe('scanning')
    expect((await store.claim(keys[3] ?? '')).state).toBe('exists')
    expect(store.stats().entries).toBe(1)
    store.startScan()
    store.startScan()
    await store.indexed()
    expect(store.stats().entries).toBe(30)
    expect(store.scanReport).toMatchObject({ entries: 30 })
  })

  it('startScan after close does nothing', async () => {
    const { store } = await openScanning(10, { start: false })
    await store.close()
    store.startScan()
    await store.indexed()
    expect(store.stats().entries).toBe(0)
    expect(store.indexing.state).toBe('done')
  })

  it('answers a cached key during the scan from disk: claim finds it (a hit), describe reads its text', async () => {
    const { store, keys } = await openScanning(200)
    const key = keys[150] ?? ''
    expect(store.indexing.state).toBe('scanning')
    const claimed = await store.claim(key)
    expect(claimed.state).toBe('exists')
    expect(store.peek(key)?.key).toBe(key)
    const other = keys[151] ?? ''
    expect(await store.describe(other)).toMatchObject({ key: other, text: 'Prompt number 151, please hold.' })
    await store.indexed()
    expect(store.stats().entries).toBe(200)
  })

  it('does not bring back an entry removed during the scan', async () => {
    const { store, keys, dir } = await openScanning(200)
    const key = keys[42] ?? ''
    expect(store.indexing.state).toBe('scanning')
    expect(await store.remove(key)).toBe(true)
    await store.indexed()
    expect(store.peek(key)).toBeUndefined()
    expect(await exists(wavOf(dir, key))).toBe(false)
    expect(store.stats().entries).toBe(199)
  })

  it('removeAll during the scan also removes what the scan had not indexed yet', async () => {
    const { store, dir, keys } = await openScanning(200)
    expect(store.indexing.state).toBe('scanning')
    expect(await store.removeAll()).toBe(200)
    expect(store.stats().entries).toBe(0)
    for (const key of keys.slice(0, 20)) expect(await exists(wavOf(dir, key))).toBe(false)
  })

  it('does not bring back an entry removed after the scan read it', async () => {
    // The scan reads every file first, then cleans up, then indexes: remove a good entry in between.
    let removal: Promise<boolean> | undefined
    let victim = ''
    const { store, keys, dir } = await openScanning(50, {
      setUp: (cacheDir) => plantBroken(cacheDir, keyOf('broken on disk')),
      logger: warnHook((msg) => {
        if (msg === 'removing invalid cache entry') removal ??= store.remove(victim)
      }),
    })
    victim = keys[7] ?? ''
    await store.indexed()
    expect(await removal).toBe(true)
    expect(store.peek(victim)).toBeUndefined()
    expect(await exists(wavOf(dir, victim))).toBe(false)
    expect(store.stats().entries).toBe(49)
  })

  it('leaves the files of a key claimed once the scan had judged them, and indexes what the claim published', async () => {
    const broken = keyOf('broken on disk')
    let claim: ReturnType<DiskStore['claim']> | undefined
    const { store, dir } = await openScanning(50, {
      setUp: (cacheDir) => plantBroken(cacheDir, broken),
      // Between the scan's verdict (invalid) and its deletion, a call asks for the key.
      logger: warnHook((msg, obj) => {
        if (msg === 'removing invalid cache entry' && obj['key'] === broken) claim ??= store.claim(broken)
      }),
    })
    await store.indexed()
    expect(store.scanReport?.removedInvalid).toBe(0)
    const claimed = await claim
    if (claimed?.state !== 'owned') throw new Error(`expected to own the broken key, got ${claimed?.state}`)
    const entry = await claimed.slot.commit(slotMeta({ text: 'broken on disk' }), await renderInto(claimed.slot, canonicalWav({ samples: 1600 })))
    expect(store.peek(broken)).toBe(entry)
    expect(await exists(wavOf(dir, broken))).toBe(true)
    expect(await store.describe(broken)).toMatchObject({ key: broken, text: 'broken on disk', durationMs: 200 })
  })

  it('never deletes the files of a key re-rendered during the scan, though the scan found its old files invalid', async () => {
    const broken = keyOf('broken on disk')
    const { store, dir } = await openScanning(200, { setUp: (cacheDir) => plantBroken(cacheDir, broken) })
    expect(store.indexing.state).toBe('scanning')
    const claim = await store.claim(broken)
    if (claim.state !== 'owned') throw new Error(`expected to own the broken key, got ${claim.state}`)
    const entry = await claim.slot.commit(slotMeta({ text: 'broken on disk' }), await renderInto(claim.slot, canonicalWav({ samples: 1600 })))
    await store.indexed()
    expect(store.peek(broken)).toBe(entry)
    expect(await exists(wavOf(dir, broken))).toBe(true)
    expect(await store.describe(broken)).toMatchObject({ key: broken, text: 'broken on disk', durationMs: 200 })
    expect(store.stats().entries).toBe(201)
  })

  it('keeps what was published during the scan as the most recently used', async () => {
    const { store } = await openScanning(50)
    const claim = await store.claim(keyOf('fresh'))
    if (claim.state !== 'owned') throw new Error(`expected to own it, got ${claim.state}`)
    const fresh = await claim.slot.commit(slotMeta({ text: 'fresh' }), await renderInto(claim.slot))
    await store.indexed()
    expect([...store.entries()][0]).toBe(fresh)
  })

  it('close stops a scan still running, and the store closes', async () => {
    const { store } = await openScanning(300)
    expect(store.indexing.state).toBe('scanning')
    await store.close()
    expect(store.indexing.state).not.toBe('failed')
    await store.indexed()
  })
})
