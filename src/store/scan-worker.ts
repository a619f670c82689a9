/**
 * The I/O half of the start-up scan, run in worker threads (or, with scanThreads 0, inline).
 * Synchronous calls on purpose: a scan is ~7 syscalls per entry, and an async call costs a
 * thread-pool round trip each (measured ~6× the CPU of the sync calls on a 2-core VM). In a
 * worker, sync I/O blocks no one, and two workers use both cores.
 *
 * This file imports only Node built-ins, so Node can run it directly as a worker (from the
 * compiled .js, or from the .ts source by stripping types). It makes no decision: it reads a
 * leaf directory's names, and for every `<key>.wav` with a `<key>.json` beside it the sidecar
 * text and the WAV header; the main thread (scan.ts) validates and cleans up.
 */
import fs from 'node:fs'
import path from 'node:path'
import { isMainThread, parentPort, workerData } from 'node:worker_threads'

/** A WAV and sidecar pair, read. `head` is the WAV header as latin1 (bytes up to the data chunk). */
export interface RawPair {
  readonly key: string
  readonly sidecar: string
  readonly head: string
  readonly size: number
}

export interface LeafReport {
  /** `<xx>/<yy>` (with the platform separator), relative to the cache dir. */
  readonly leaf: string
  readonly pairs: RawPair[]
  /** Names not part of a pair that could be read (locks, temps, lone files, foreign files). */
  readonly others: string[]
  /** Failures on single files or directories; the rest of the leaf was still read. */
  readonly errors: { readonly path: string; readonly code: string | undefined; readonly message: string }[]
}

export interface ScanWorkerData {
  readonly kind: 'tts-cache-scan'
  readonly root: string
  readonly tops: readonly string[]
  /** Int32 on a SharedArrayBuffer: index of the next top-level shard to take. */
  readonly next: SharedArrayBuffer
  readonly headBytes: number
}

const PAIR_WAV = /^[0-9a-f]{64}\.wav$/
const SHARD = /^[0-9a-f]{2}$/
const SIDECAR_BUFFER_BYTES = 64 * 1024
/**
 * Leaves per message: ~16 KB serialized at ~1.5 entries a leaf. Small messages keep their
 * malloc'd copies below the allocator's mmap threshold, where freed memory is reused (big ones
 * raised the process RSS by ~50 MB for 100k entries).
 */
const LEAVES_PER_BATCH = 32

/**
 * Scans top-level shards taken one at a time from the shared counter (so threads share the
 * work evenly) and hands the leaf reports to `emit` in small batches.
 */
export function scanShards(data: ScanWorkerData, emit: (batch: LeafReport[]) => void): void {
  const next = new Int32Array(data.next)
  const head = Buffer.allocUnsafe(data.headBytes)
  const sidecar = Buffer.allocUnsafe(SIDECAR_BUFFER_BYTES)
  for (let i = Atomics.add(next, 0, 1); i < data.tops.length; i = Atomics.add(next, 0, 1)) {
    const top = data.tops[i] ?? ''
    let batch: LeafReport[] = []
    const topErrors: LeafReport['errors'] = []
    for (const sub of listSubdirs(`${data.root}${path.sep}${top}`, topErrors)) {
      batch.push(scanLeaf(data.root, `${top}${path.sep}${sub}`, head, sidecar))
      if (batch.length >= LEAVES_PER_BATCH) {
        emit(batch)
        batch = []
      }
    }
    if (topErrors.length > 0) batch.push({ leaf: top, pairs: [], others: [], errors: topErrors })
    if (batch.length > 0) emit(batch)
  }
}

function listSubdirs(dir: string, errors: LeafReport['errors']): string[] {
  try {
    return fs
      .readdirSync(dir, { withFileTypes: true })
      .filter((d) => d.isDirectory() && SHARD.test(d.name))
      .map((d) => d.name)
  } catch (err) {
    errors.push(describe(dir, err))
    return []
  }
}

function scanLeaf(root: string, leaf: string, head: Buffer, sidecar: Buffer): LeafReport {
  const dir = `${root}${path.sep}${leaf}`
  const report: LeafReport = { leaf, pairs: [], others: [], errors: [] }
  let names: string[]
  try {
    names = fs.readdirSync(dir)
  } catch (err) {
    report.errors.push(describe(dir, err))
    return report
  }
  const present = new Set(names)
  for (const name of names) {
    const key = name.slice(0, 64)
    if (PAIR_WAV.test(name) && present.has(`${key}.json`)) {
      const pair = readPair(dir, key, head, sidecar, report)
      if (pair !== undefined) report.pairs.push(pair)
    } else if (!(name === `${key}.json` && present.has(`${key}.wav`) && PAIR_WAV.test(`${key}.wav`))) {
      report.others.push(name)
    }
  }
  return report
}

function readPair(dir: string, key: string, head: Buffer, sidecar: Buffer, report: LeafReport): RawPair | undefined {
  // Concatenation, not path.join: this runs 100k times and every piece is already normal.
  const wavPath = `${dir}${path.sep}${key}.wav`
  const jsonPath = `${dir}${path.sep}${key}.json`
  let size: number
  let headLength: number
  let text: string
  try {
    const fd = fs.openSync(wavPath, 'r')
    try {
      size = fs.fstatSync(fd).size
      headLength = fs.readSync(fd, head, 0, head.length, 0)
    } finally {
      fs.closeSync(fd)
    }
  } catch (err) {
    report.errors.push(describe(wavPath, err))
    return undefined
  }
  try {
    const fd = fs.openSync(jsonPath, 'r')
    try {
      const n = fs.readSync(fd, sidecar, 0, sidecar.length, 0)
      text = n < sidecar.length ? sidecar.toString('utf8', 0, n) : fs.readFileSync(jsonPath, 'utf8')
    } finally {
      fs.closeSync(fd)
    }
  } catch (err) {
    report.errors.push(describe(jsonPath, err))
    return undefined
  }
  return { key, sidecar: text, head: head.toString('latin1', 0, headerEnd(head, headLength)), size }
}

/**
 * Where the header ends (just past the data chunk's 8-byte header), so only those bytes travel
 * to the main thread; all `read` bytes when no data chunk is found (the main thread decides).
 */
function headerEnd(bytes: Buffer, read: number): number {
  let offset = 12
  while (offset + 8 <= read) {
    if (bytes.toString('latin1', offset, offset + 4) === 'data') return offset + 8
    const size = bytes.readUInt32LE(offset + 4)
    offset += 8 + size + (size % 2)
  }
  return read
}

function describe(filePath: string, err: unknown): LeafReport['errors'][number] {
  const code = typeof err === 'object' && err !== null && 'code' in err ? String((err as { code: unknown }).code) : undefined
  return { path: filePath, code, message: err instanceof Error ? err.message : String(err) }
}

function isScanWorkerData(value: unknown): value is ScanWorkerData {
  return typeof value === 'object' && value !== null && (value as { kind?: unknown }).kind === 'tts-cache-scan'
}

if (!isMainThread && parentPort !== null && isScanWorkerData(workerData)) {
  const port = parentPort
  scanShards(workerData, (batch) => port.postMessage(batch))
}
