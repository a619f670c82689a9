/**
 * Fixtures for disk-store tests (and anyone else who needs keys, slots or a populated cache dir);
 * the WAVs themselves come from test/fakes/wav.ts.
 */
import { createHash } from 'node:crypto'
import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import type { EntryMeta, RenderSlot } from '../../../src/core/ports/index.js'
import { canonicalWav } from '../../fakes/wav.js'

/** A valid cache key derived from a label (sha256 hex). */
export function keyOf(label: string): string {
  return createHash('sha256').update(label).digest('hex')
}

/** A fresh directory under the OS temp dir. */
export function makeTempDir(prefix = 'tts-store-'): Promise<string> {
  return fs.mkdtemp(path.join(os.tmpdir(), prefix))
}

export function removeDir(dir: string): Promise<void> {
  return fs.rm(dir, { recursive: true, force: true })
}

/** What commit() takes, with test defaults. */
export type SlotMeta = Omit<EntryMeta, 'key' | 'bytes' | 'durationMs' | 'createdAt'>

export function slotMeta(overrides: Partial<SlotMeta> = {}): SlotMeta {
  return {
    text: 'Hello, caller.',
    voice: 'en-us',
    engine: 'espeak-ng',
    engineVersion: '1.51',
    sampleRate: 8000,
    format: 'wav-pcm16-mono',
    pinned: false,
    ...overrides,
  }
}

/** Plays the renderer: writes `wav` to the slot's temp path; returns what a queue would report. */
export async function renderInto(slot: RenderSlot, wav: Buffer = canonicalWav()): Promise<{ bytes: number; durationMs: number }> {
  await fs.writeFile(slot.tempPath, wav)
  return { bytes: wav.length, durationMs: 100 }
}

/** Every file under `dir`, as paths relative to it, sorted. */
export async function listFiles(dir: string): Promise<string[]> {
  const entries = await fs.readdir(dir, { recursive: true, withFileTypes: true })
  return entries
    .filter((e) => e.isFile())
    .map((e) => path.relative(dir, path.join(e.parentPath, e.name)))
    .sort()
}

export interface GeneratedEntries {
  readonly keys: string[]
  readonly bytes: number
}

/**
 * Writes `count` valid entries straight into the cache layout (no store involved), `concurrency`
 * files at a time. Fast enough for 100k entries (the scan benchmark); `pinnedEvery: n` pins every n-th.
 */
export async function writeCacheEntries(
  cacheDir: string,
  count: number,
  options: { concurrency?: number; pinnedEvery?: number; createdAt?: number; label?: string } = {},
): Promise<GeneratedEntries> {
  const wav = canonicalWav()
  const keys: string[] = []
  const createdAt = options.createdAt ?? 1_700_000_000_000
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < count) {
      const i = next++
      const key = keyOf(`${options.label ?? 'entry'}-${i}`)
      keys.push(key)
      const dir = path.join(cacheDir, key.slice(0, 2), key.slice(2, 4))
      await fs.mkdir(dir, { recursive: true })
      const meta: EntryMeta = {
        key,
        text: `Prompt number ${i}, please hold.`,
        voice: 'en-us',
        engine: 'espeak-ng',
        engineVersion: '1.51',
        sampleRate: 8000,
        format: 'wav-pcm16-mono',
        bytes: wav.length,
        durationMs: 100,
        createdAt: createdAt + i,
        pinned: options.pinnedEvery !== undefined && i % options.pinnedEvery === 0,
      }
      await fs.writeFile(path.join(dir, `${key}.json`), JSON.stringify(meta))
      await fs.writeFile(path.join(dir, `${key}.wav`), wav)
    }
  }
  await Promise.all(Array.from({ length: options.concurrency ?? 64 }, worker))
  return { keys, bytes: count * wav.length }
}
