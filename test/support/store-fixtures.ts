/**
 * Fixtures for disk-store tests (and anyone else who needs real WAVs or a populated cache dir).
 */
import { createHash } from 'node:crypto'
import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import type { Clock, EntryMeta, Logger, RenderSlot } from '../../src/core/ports/index.js'

export interface WavOptions {
  readonly sampleRate?: number
  /** Number of 16-bit samples. Default: 100 ms at the rate. */
  readonly samples?: number
  readonly channels?: number
  readonly bitsPerSample?: number
  /** Keep only this many bytes of the whole file (a truncated render). */
  readonly truncateTo?: number
}

/** A canonical 44-byte-header PCM WAV (mono 16-bit unless told otherwise) with a quiet ramp as audio. */
export function canonicalWav(options: WavOptions = {}): Buffer {
  const sampleRate = options.sampleRate ?? 8000
  const channels = options.channels ?? 1
  const bitsPerSample = options.bitsPerSample ?? 16
  const samples = options.samples ?? Math.round(sampleRate / 10)
  const blockAlign = channels * (bitsPerSample / 8)
  const dataBytes = samples * blockAlign
  const buf = Buffer.alloc(44 + dataBytes)
  buf.write('RIFF', 0, 'ascii')
  buf.writeUInt32LE(36 + dataBytes, 4)
  buf.write('WAVE', 8, 'ascii')
  buf.write('fmt ', 12, 'ascii')
  buf.writeUInt32LE(16, 16)
  buf.writeUInt16LE(1, 20)
  buf.writeUInt16LE(channels, 22)
  buf.writeUInt32LE(sampleRate, 24)
  buf.writeUInt32LE(sampleRate * blockAlign, 28)
  buf.writeUInt16LE(blockAlign, 32)
  buf.writeUInt16LE(bitsPerSample, 34)
  buf.write('data', 36, 'ascii')
  buf.writeUInt32LE(dataBytes, 40)
  for (let i = 44; i + 1 < buf.length; i += 2) buf.writeInt16LE(((i * 37) % 2000) - 1000, i)
  return options.truncateTo === undefined ? buf : buf.subarray(0, options.truncateTo)
}

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

export class FakeClock implements Clock {
  #now: number

  constructor(start = 1_700_000_000_000) {
    this.#now = start
  }

  now(): number {
    return this.#now
  }

  advance(ms: number): void {
    this.#now += ms
  }
}

export interface LogRecord {
  readonly level: 'debug' | 'info' | 'warn' | 'error'
  readonly obj: Record<string, unknown>
  readonly msg: string | undefined
}

interface LogWaiter {
  readonly match: (r: LogRecord) => boolean
  readonly resolve: (r: LogRecord) => void
}

/** A Logger that keeps every record and lets a test wait for one (a handshake, not a sleep). */
export class RecordingLogger implements Logger {
  readonly records: LogRecord[]
  readonly #bindings: Record<string, unknown>
  readonly #waiters: LogWaiter[]

  constructor(records: LogRecord[] = [], bindings: Record<string, unknown> = {}, waiters: LogWaiter[] = []) {
    this.records = records
    this.#bindings = bindings
    this.#waiters = waiters
  }

  debug(obj: object, msg?: string): void {
    this.#add('debug', obj, msg)
  }
  info(obj: object, msg?: string): void {
    this.#add('info', obj, msg)
  }
  warn(obj: object, msg?: string): void {
    this.#add('warn', obj, msg)
  }
  error(obj: object, msg?: string): void {
    this.#add('error', obj, msg)
  }
  child(bindings: Record<string, unknown>): Logger {
    return new RecordingLogger(this.records, { ...this.#bindings, ...bindings }, this.#waiters)
  }

  /** Resolves with the first record (past or future) that matches. */
  waitFor(match: (r: LogRecord) => boolean): Promise<LogRecord> {
    const seen = this.records.find(match)
    if (seen !== undefined) return Promise.resolve(seen)
    return this.next(match)
  }

  /** Resolves with the next matching record logged from now on. */
  next(match: (r: LogRecord) => boolean): Promise<LogRecord> {
    return new Promise((resolve) => this.#waiters.push({ match, resolve }))
  }

  atLevel(level: LogRecord['level']): LogRecord[] {
    return this.records.filter((r) => r.level === level)
  }

  #add(level: LogRecord['level'], obj: object, msg: string | undefined): void {
    const record: LogRecord = { level, obj: { ...this.#bindings, ...obj }, msg }
    this.records.push(record)
    for (let i = this.#waiters.length - 1; i >= 0; i--) {
      const waiter = this.#waiters[i]
      if (waiter !== undefined && waiter.match(record)) {
        this.#waiters.splice(i, 1)
        waiter.resolve(record)
      }
    }
  }
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
