/**
 * One entry's files on disk. Reading takes its sidecar and the first bytes of its WAV, never
 * the audio (shared by the start-up scan and by claim's "is it already there?" check).
 */
import fs from 'node:fs'
import { isCanonicalWav, parseWavHeader, WAV_HEADER_PROBE_BYTES } from '../../audio/wav.js'
import type { EntryMeta } from '../../core/ports/index.js'
import { errnoCode, storeIoError, unlinkIfExists } from './fs-util.js'
import type { CacheLayout } from './layout.js'
import { parseSidecar } from './sidecar.js'
import { fileTagOf } from './scan-worker.js'
import type { StringPool } from './string-pool.js'
import { cacheEntryOf, type IndexedEntry } from './index-entry.js'

export { cacheEntryOf, entryFields, type IndexedEntry, type IndexedFields } from './index-entry.js'

export type EntryRead =
  /** `text` is the sidecar's, for whoever wants it; the entry does not hold it (see CacheEntry). */
  | { readonly status: 'ok'; readonly entry: IndexedEntry; readonly text: string }
  | { readonly status: 'missing-wav' | 'missing-sidecar' }
  | { readonly status: 'invalid'; readonly reason: string }

/**
 * Loads `key`: the WAV must be a canonical PCM16 mono file at the sidecar's rate. `bytes` and
 * `durationMs` come from the WAV itself (the file is the truth), the rest from the sidecar.
 * I/O failures other than "not there" throw TTS_ERR_STORE_IO.
 */
export async function readEntry(layout: CacheLayout, key: string, pool: StringPool): Promise<EntryRead> {
  const head = await readHead(layout.wavPath(key), WAV_HEADER_PROBE_BYTES)
  if (head === undefined) return { status: 'missing-wav' }
  const json = await readText(layout.sidecarPath(key))
  if (json === undefined) return { status: 'missing-sidecar' }
  return entryFromFiles(layout, key, json, head.bytes, head.size, head.tag, pool)
}

/**
 * Validates what was read of an entry (sidecar text, WAV header bytes, WAV size) and builds
 * its CacheEntry; `fileTag` is the WAV's (`fileTagOf` its stat). Pure: the scan's child
 * processes do the reading.
 */
export function entryFromFiles(
  layout: CacheLayout,
  key: string,
  json: string,
  head: Uint8Array,
  size: number,
  fileTag: number,
  pool: StringPool,
): EntryRead {
  const sidecar = parseSidecar(json, key)
  if (!sidecar.ok) return { status: 'invalid', reason: `sidecar: ${sidecar.reason}` }
  const wav = parseWavHeader(head, size)
  if (!wav.ok) return { status: 'invalid', reason: `wav: ${wav.reason}` }
  const meta = sidecar.meta
  if (!isCanonicalWav(wav.info, meta.sampleRate)) return { status: 'invalid', reason: `wav: not PCM16 mono at ${meta.sampleRate} Hz` }
  return { status: 'ok', entry: cacheEntryOf(layout, { ...meta, bytes: size, durationMs: wav.info.durationMs, fileTag }, pool), text: meta.text }
}


/** The key's sidecar, parsed; undefined when it is missing or not valid. */
export async function readSidecar(layout: CacheLayout, key: string): Promise<EntryMeta | undefined> {
  const json = await readText(layout.sidecarPath(key))
  if (json === undefined) return undefined
  const parsed = parseSidecar(json, key)
  return parsed.ok ? parsed.meta : undefined
}

interface Head {
  readonly bytes: Uint8Array
  readonly size: number
  /** `fileTagOf` the file's stat. */
  readonly tag: number
}

/**
 * First `max` bytes and the size of a file; undefined when it does not exist. Callback fs
 * (one promise per file instead of one per syscall): the scan does this 100k times.
 */
export function readHead(filePath: string, max: number): Promise<Head | undefined> {
  return new Promise((resolve, reject) => {
    const fail = (err: unknown): void => reject(storeIoError(err, 'read', filePath))
    fs.open(filePath, 'r', (openErr, fd) => {
      if (openErr !== null) {
        if (errnoCode(openErr) === 'ENOENT') resolve(undefined)
        else fail(openErr)
        return
      }
      const finish = (err: unknown, head: Head | undefined): void => {
        fs.close(fd, (closeErr) => {
          if (err !== undefined) fail(err)
          else if (closeErr !== null) fail(closeErr)
          else resolve(head)
        })
      }
      fs.fstat(fd, (statErr, stat) => {
        if (statErr !== null) return finish(statErr, undefined)
        const length = Math.min(max, stat.size)
        const tag = fileTagOf(stat.dev, stat.ino, stat.mtimeMs)
        if (length === 0) return finish(undefined, { bytes: new Uint8Array(0), size: stat.size, tag })
        const buffer = Buffer.allocUnsafe(length)
        fs.read(fd, buffer, 0, length, 0, (readErr, bytesRead) => {
          if (readErr !== null) return finish(readErr, undefined)
          finish(undefined, { bytes: buffer.subarray(0, bytesRead), size: stat.size, tag })
        })
      })
    })
  })
}

/** A small text file's content; undefined when it does not exist. */
export function readText(filePath: string): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    fs.readFile(filePath, 'utf8', (err, text) => {
      if (err === null) resolve(text)
      else if (errnoCode(err) === 'ENOENT') resolve(undefined)
      else reject(storeIoError(err, 'read', filePath))
    })
  })
}

/** Deletes an entry's files, WAV first so nobody finds a WAV whose sidecar is gone. True if the WAV was there. */
export async function removeEntryFiles(layout: CacheLayout, key: string): Promise<boolean> {
  const hadWav = await unlinkIfExists(layout.wavPath(key))
  await unlinkIfExists(layout.sidecarPath(key))
  return hadWav
}
