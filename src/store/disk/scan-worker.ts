/**
 * The I/O half of the start-up scan, run in child processes (or, with scanProcesses 0, inline).
 * Synchronous calls on purpose: a scan is ~7 syscalls per entry, and an async call costs a
 * thread-pool round trip each (measured ~6× the CPU of the sync calls on a 2-core VM). In a
 * child, sync I/O blocks no one, and two children use both cores. Processes, not worker
 * threads: every worker thread left ~20 MiB in the service's RSS after it exited (V8/Node keep
 * what its isolate touched; measured on Node 24, whatever the malloc settings); a child's
 * memory goes back to the system when it exits.
 *
 * This file imports only Node built-ins, so Node can run it directly (from the compiled .js, or
 * from the .ts source by stripping types). It makes no decision: it reads a leaf directory's
 * names, and for every `<key>.wav` with a `<key>.json` beside it the sidecar text and the WAV
 * header; the parent (scan.ts) validates and cleans up.
 */
import fs from 'node:fs'
import path from 'node:path'

/** A WAV and sidecar pair, read. `head` is the WAV header as latin1 (bytes up to the data chunk). */
export interface RawPair {
  readonly key: string
  readonly sidecar: string
  readonly head: string
  readonly size: number
  /** `fileTagOf` the WAV's fstat: what every hit compares with the file then on disk. */
  readonly tag: number
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
  /** The top-level shards (`<xx>`) this runner reads. */
  readonly tops: readonly string[]
  readonly headBytes: number
}

/** The argument a scan child is started with (and nothing else starts this file with). */
export const SCAN_CHILD_FLAG = '--tts-cache-scan-child'

/** What a scan child sends its parent: batches of leaves, then `done` once all were sent. */
export type ScanChildMessage = { readonly batch: LeafReport[] } | { readonly done: true }

const PAIR_WAV = /^[0-9a-f]{64}\.wav$/
const SHARD = /^[0-9a-f]{2}$/
const SIDECAR_BUFFER_BYTES = 64 * 1024
/**
 * Leaves per message: ~16 KB serialized at ~1.5 entries a leaf. Small messages keep their
 * malloc'd copies below the allocator's mmap threshold, where freed memory is reused (big ones
 * raised the process RSS by ~50 MB for 100k entries).
 */
const LEAVES_PER_BATCH = 32

/** Reads the given top-level shards and yields the leaf reports in small batches. */
export function* scanShards(data: ScanWorkerData): Generator<LeafReport[]> {
  const head = Buffer.allocUnsafe(data.headBytes)
  const sidecar = Buffer.allocUnsafe(SIDECAR_BUFFER_BYTES)
  for (const top of data.tops) {
    let batch: LeafReport[] = []
    const topErrors: LeafReport['errors'] = []
    for (const sub of listSubdirs(`${data.root}${path.sep}${top}`, topErrors)) {
      batch.push(scanLeaf(data.root, `${top}${path.sep}${sub}`, head, sidecar))
      if (batch.length >= LEAVES_PER_BATCH) {
        yield batch
        batch = []
      }
    }
    if (topErrors.length > 0) batch.push({ leaf: top, pairs: [], others: [], errors: topErrors })
    if (batch.length > 0) yield batch
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
  let tag: number
  let headLength: number
  let text: string
  try {
    const fd = fs.openSync(wavPath, 'r')
    try {
      const stat = fs.fstatSync(fd)
      size = stat.size
      tag = fileTagOf(stat.dev, stat.ino, stat.mtimeMs)
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
  return { key, sidecar: text, head: head.toString('latin1', 0, headerEnd(head, headLength)), size, tag }
}

/**
 * A 32-bit tag of a file's identity — device, inode and modification time (to the microsecond) —
 * as an int (a small integer in V8: an index entry keeps it at no extra allocation). With the
 * size it tells the file an index entry was made from from any other under the same name: one
 * renamed over it (a peer's render), or one written in place. Two different files share a tag
 * with odds of about one in 4 billion, and then only matter if their sizes are equal too. Here,
 * not in the store, because this file imports nothing but Node built-ins (see above) and the
 * scan computes it where it reads the stat.
 */
export function fileTagOf(dev: number, ino: number, mtimeMs: number): number {
  const mtimeUs = Math.round(mtimeMs * 1000)
  // FNV-1a over the low and high 32 bits of each number (all integers below 2^53).
  let h = 0x811c9dc5
  h = Math.imul(h ^ (dev >>> 0), 0x01000193)
  h = Math.imul(h ^ Math.floor(dev / 0x100000000), 0x01000193)
  h = Math.imul(h ^ (ino >>> 0), 0x01000193)
  h = Math.imul(h ^ Math.floor(ino / 0x100000000), 0x01000193)
  h = Math.imul(h ^ (mtimeUs >>> 0), 0x01000193)
  h = Math.imul(h ^ Math.floor(mtimeUs / 0x100000000), 0x01000193)
  return h | 0
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

/** The child's side: one data message in, batches out (each waits until sent: the pipe is the back-pressure), then `done`. */
async function runScanChild(data: ScanWorkerData): Promise<void> {
  const send = (message: ScanChildMessage): Promise<void> =>
    new Promise((resolve, reject) => {
      process.send?.(message, undefined, {}, (err) => (err === null ? resolve() : reject(err)))
    })
  for (const batch of scanShards(data)) await send({ batch })
  await send({ done: true })
  process.disconnect()
}

if (process.argv[2] === SCAN_CHILD_FLAG && process.send !== undefined) {
  process.once('message', (data: unknown) => {
    if (!isScanWorkerData(data)) throw new Error('scan child: unexpected first message')
    runScanChild(data).catch((err: unknown) => {
      // The parent sees the exit code and this line on stderr.
      process.stderr.write(`scan child failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`)
      process.exitCode = 1
      process.disconnect()
    })
  })
}
