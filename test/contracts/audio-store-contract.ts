/**
 * The AudioStore contract: what the core relies on, run against every store implementation
 * (as undici runs one suite against each of its cache stores). Implementation details (file
 * layout, scans, locks across processes, budgets) are tested beside each implementation.
 */
import fs from 'node:fs/promises'
import { describe, expect, it } from 'vitest'
import { isTtsError, type ErrorCode, TtsError } from '../../src/core/errors.js'
import type { AudioStore, CacheEntry, ClaimResult, RenderSlot } from '../../src/core/ports/index.js'
import { canonicalWav } from '../fakes/wav.js'
import { keyOf, renderInto, slotMeta, type SlotMeta } from '../harness/store/fixtures.js'

export interface ContractSubject {
  readonly store: AudioStore
  /** Another store on the same storage (what a second process sees), starting empty-handed in memory. */
  readonly peer: () => Promise<AudioStore>
}

export function owned(claim: ClaimResult): RenderSlot {
  if (claim.state !== 'owned') throw new Error(`expected owned, got ${claim.state}`)
  return claim.slot
}

export async function expectTtsError(promise: Promise<unknown>, code: ErrorCode): Promise<TtsError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(isTtsError(err), `expected TtsError ${code}, got ${String(err)}`).toBe(true)
  expect((err as TtsError).code).toBe(code)
  return err as TtsError
}

async function render(store: AudioStore, label: string, meta: Partial<SlotMeta> = {}, wav = canonicalWav()): Promise<CacheEntry> {
  const slot = owned(await store.claim(keyOf(label)))
  try {
    return await slot.commit(slotMeta({ text: label, ...meta }), await renderInto(slot, wav))
  } finally {
    await slot.release()
  }
}

/** Every field an entry has, as a plain object: the disk index's entries read the ones they share with other entries through getters, so a spread of one lacks them. */
function fieldsOf(entry: CacheEntry): Record<string, unknown> {
  const names = ['key', 'voice', 'engine', 'engineVersion', 'sampleRate', 'format', 'bytes', 'durationMs', 'createdAt', 'pinned', 'fileTag']
  return Object.fromEntries(names.filter((name) => name in entry).map((name) => [name, (entry as unknown as Record<string, unknown>)[name]]))
}

async function fileExists(file: string): Promise<boolean> {
  return fs.stat(file).then(
    () => true,
    () => false,
  )
}

export function describeAudioStoreContract(name: string, open: () => Promise<ContractSubject>): void {
  describe(`AudioStore contract: ${name}`, () => {
    it('a committed render is a memory hit with its metadata and a readable WAV', async () => {
      const { store } = await open()
      const wav = canonicalWav({ samples: 1600 })
      const entry = await render(store, 'hello', { voice: 'en-gb' }, wav)
      expect(entry).toMatchObject({ key: keyOf('hello'), voice: 'en-gb', bytes: wav.length, durationMs: 200, pinned: false })
      // The index holds no text (memory per entry); describe reads it from the sidecar.
      expect(entry).not.toHaveProperty('text')
      expect(await store.describe(entry.key)).toEqual({ ...fieldsOf(entry), path: entry.path, text: 'hello' })
      expect(store.lookup(entry.key)).toEqual(entry)
      expect(store.peek(entry.key)).toEqual(entry)
      expect(store.pathFor(entry.key)).toBe(entry.path)
      // Logs and responses serialise entries: the path is part of them.
      expect(JSON.parse(JSON.stringify(entry))).toEqual({ ...fieldsOf(entry), path: entry.path })
      expect(await fs.readFile(entry.path)).toEqual(wav)
    })

    it('a miss is undefined, from lookup and peek alike', async () => {
      const { store } = await open()
      expect(store.lookup(keyOf('nothing'))).toBeUndefined()
      expect(store.peek(keyOf('nothing'))).toBeUndefined()
      expect(await store.describe(keyOf('nothing'))).toBeUndefined()
    })

    it.each([
      ['garbage', Buffer.from('RIFF? no, just text pretending to be audio')],
      ['an empty file', Buffer.alloc(0)],
      ['a WAV at another rate', canonicalWav({ sampleRate: 16000 })],
      ['a stereo WAV', canonicalWav({ channels: 2 })],
      ['an 8-bit WAV', canonicalWav({ bitsPerSample: 8 })],
      ['a truncated WAV', canonicalWav({ truncateTo: 500 })],
      ['a WAV without samples', canonicalWav({ samples: 0 })],
    ])('refuses %s with TTS_ERR_INVALID_AUDIO, caching nothing and freeing the key', async (_label, bytes) => {
      const { store } = await open()
      const key = keyOf('bad audio')
      const slot = owned(await store.claim(key))
      await fs.writeFile(slot.tempPath, bytes)
      await expectTtsError(slot.commit(slotMeta(), { bytes: bytes.length, durationMs: 1 }), 'TTS_ERR_INVALID_AUDIO')
      await slot.release()
      expect(store.lookup(key)).toBeUndefined()
      expect(await fileExists(store.pathFor(key))).toBe(false)
      expect(await fileExists(slot.tempPath)).toBe(false)
      await owned(await store.claim(key)).release()
    })

    it('refuses a commit when the renderer wrote no file', async () => {
      const { store } = await open()
      const slot = owned(await store.claim(keyOf('silent engine')))
      await expectTtsError(slot.commit(slotMeta(), { bytes: 0, durationMs: 0 }), 'TTS_ERR_INVALID_AUDIO')
    })

    it('release() is idempotent, frees the key, and changes nothing after a commit', async () => {
      const { store } = await open()
      const slot = owned(await store.claim(keyOf('abandoned')))
      await renderInto(slot)
      await slot.release()
      await slot.release()
      expect(await fileExists(slot.tempPath)).toBe(false)
      await owned(await store.claim(keyOf('abandoned'))).release()
      const entry = await render(store, 'kept')
      expect(await fileExists(entry.path)).toBe(true)
    })

    it('a slot commits once', async () => {
      const { store } = await open()
      const slot = owned(await store.claim(keyOf('twice')))
      await slot.commit(slotMeta(), await renderInto(slot))
      await expectTtsError(slot.commit(slotMeta(), { bytes: 1, durationMs: 1 }), 'TTS_ERR_INTERNAL')
    })

    it('claim answers exists for what another store on the same storage published', async () => {
      const { store, peer } = await open()
      const other = await peer()
      const entry = await render(store, 'shared')
      expect(other.lookup(entry.key)).toBeUndefined() // memory only
      expect(await other.claim(entry.key)).toEqual({ state: 'exists', entry })
      expect(other.lookup(entry.key)).toEqual(entry)
    })

    it('a second claim of an owned key resolves with the entry once the owner commits', async () => {
      const { store } = await open()
      const key = keyOf('racing')
      const slot = owned(await store.claim(key))
      const second = store.claim(key)
      const entry = await slot.commit(slotMeta(), await renderInto(slot))
      const result = await second
      expect(['published-by-peer', 'exists']).toContain(result.state)
      expect(result.state !== 'owned' && result.entry).toEqual(entry)
    })

    it('an aborted claim rejects with the TtsError reason, or TTS_ERR_ABORTED', async () => {
      const { store } = await open()
      const key = keyOf('aborted')
      const slot = owned(await store.claim(key))
      const controller = new AbortController()
      const waiting = store.claim(key, { signal: controller.signal })
      controller.abort()
      await expectTtsError(waiting, 'TTS_ERR_ABORTED')
      const reason = new TtsError('TTS_ERR_DEADLINE_EXCEEDED', { args: [100] })
      await expect(store.claim(key, { signal: AbortSignal.abort(reason) })).rejects.toBe(reason)
      await slot.release()
    })

    it('replace gives a slot over an existing entry and swaps the file atomically', async () => {
      const { store } = await open()
      const first = await render(store, 'refresh me', {}, canonicalWav({ samples: 800 }))
      const slot = owned(await store.claim(first.key, { replace: true }))
      const second = await slot.commit(slotMeta({ text: 'refresh me' }), await renderInto(slot, canonicalWav({ samples: 2400 })))
      expect(second.durationMs).toBe(300)
      expect(store.lookup(first.key)?.durationMs).toBe(300)
      expect((await fs.readFile(second.path)).length).toBe(44 + 4800)
    })

    it('pin() marks an entry pinned, counted apart in stats', async () => {
      const { store } = await open()
      const entry = await render(store, 'prompt')
      await store.pin(entry.key)
      expect(store.lookup(entry.key)?.pinned).toBe(true)
      expect(store.stats()).toMatchObject({ entries: 1, bytes: entry.bytes, pinnedEntries: 1, pinnedBytes: entry.bytes })
      await expectTtsError(store.pin(keyOf('unknown')), 'TTS_ERR_NOT_FOUND')
    })

    it('remove, removeWhere and removeAll delete entries and count them', async () => {
      const { store } = await open()
      const a = await render(store, 'a', { voice: 'en', engine: 'espeak-ng' })
      const b = await render(store, 'b', { voice: 'de', engine: 'espeak-ng' })
      const c = await render(store, 'c', { voice: 'en', engine: 'flite' })
      const d = await render(store, 'd', { voice: 'en', engine: 'flite', pinned: true })
      expect(await store.remove(a.key)).toBe(true)
      expect(await store.remove(a.key)).toBe(false)
      expect(await fileExists(a.path)).toBe(false)
      expect(await store.removeWhere({ engine: 'flite', voice: 'en' })).toBe(2)
      expect([c, d].map((e) => store.peek(e.key))).toEqual([undefined, undefined])
      expect([...store.entries()].map((e) => e.key)).toEqual([b.key])
      expect(await store.removeAll()).toBe(1)
      expect(store.stats()).toMatchObject({ entries: 0, bytes: 0, pinnedEntries: 0, pinnedBytes: 0 })
      expect(await fileExists(b.path)).toBe(false)
    })

    it('countWhere counts what removeWhere would remove; pinned: false leaves pinned entries', async () => {
      const { store } = await open()
      const a = await render(store, 'a', { voice: 'en', engine: 'flite' })
      const pinned = await render(store, 'p', { voice: 'en', engine: 'flite', pinned: true })
      await render(store, 'b', { voice: 'de', engine: 'flite' })
      expect(await store.countWhere({ voice: 'en' })).toBe(2)
      expect(await store.countWhere({ voice: 'en', pinned: true })).toBe(1)
      expect(await store.countWhere({ pinned: false })).toBe(2)
      expect(await store.removeWhere({ voice: 'en', pinned: false })).toBe(1)
      expect(store.peek(a.key)).toBeUndefined()
      expect(store.peek(pinned.key)?.pinned).toBe(true)
      expect(await fileExists(pinned.path)).toBe(true)
    })

    it.each(['', 'not-a-key', '../../../etc/passwd', 'A'.repeat(64), `${'a'.repeat(62)}/.`])(
      'rejects the key %j with TTS_ERR_INVALID_KEY everywhere',
      async (bad) => {
        const { store } = await open()
        for (const call of [() => store.lookup(bad), () => store.peek(bad), () => store.pathFor(bad)]) {
          expect(call).toThrow(expect.objectContaining({ code: 'TTS_ERR_INVALID_KEY' }) as Error)
        }
        await expectTtsError(store.claim(bad), 'TTS_ERR_INVALID_KEY')
        await expectTtsError(store.pin(bad), 'TTS_ERR_INVALID_KEY')
        await expectTtsError(store.remove(bad), 'TTS_ERR_INVALID_KEY')
      },
    )
  })
}
