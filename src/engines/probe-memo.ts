import { randomBytes } from 'node:crypto'
import { readFile, rename, rm, stat, writeFile } from 'node:fs/promises'
import type { Logger } from '../core/ports/index.js'
import { TtsError } from '../core/errors.js'
import { resolveExecutable } from './process/resolve-executable.js'

/** One probe as a later start can recognise it: the same file (by identity), argv and environment. */
export interface ProbeCall {
  readonly id: string
  readonly binary: string
  readonly args: readonly string[]
  readonly env: Readonly<Record<string, string>> | undefined
  readonly searchPath: string | undefined
}

interface StoredProbe {
  readonly key: string
  readonly stdout: string
}

const FORMAT = 1

/** Entries a memo file keeps (a machine's engines take ~6; several machines may share the file). */
const MAX_STORED_PROBES = 64

/** The memo's name in the cache directory (the store's scan reads only the shard directories). */
export const PROBE_MEMO_FILE = '.engine-probes.json'

/**
 * Remembers the output of the engine probes (`--version`, voice lists) in a file, so that `serve`
 * can start without running them: on this machine each process start blocks the service's event
 * loop ~20 ms, and the probes are six of them — a quarter of the time to the first hit. A
 * remembered output is replayed only for the very same binary file (resolved path, device, inode,
 * size, mtime and ctime: a package upgrade replaces the file, so its identity changes), argv and
 * environment. What that cannot see (voices installed into the engine's data directory, a shared
 * library upgraded under the same binary) `serve` catches by running the probes again once it
 * listens and adopting what they find (`EngineCatalog.adopt`).
 *
 * A missing, unreadable or foreign file is an empty memo; probes that fail are never remembered.
 */
export class ProbeMemo {
  readonly #file: string
  readonly #replay: ReadonlyMap<string, string>
  /** What this process's probes returned (replayed or run), in the order they ran. */
  readonly #seen = new Map<string, string>()
  #ran = 0
  #replayed = 0

  private constructor(file: string, replay: ReadonlyMap<string, string>) {
    this.#file = file
    this.#replay = replay
  }

  /** A memo that replays what `file` holds (nothing when it is missing or unreadable). */
  static async load(file: string, logger?: Logger): Promise<ProbeMemo> {
    let stored: ReadonlyMap<string, string> = new Map()
    try {
      const parsed = JSON.parse(await readFile(file, 'utf8')) as { format?: unknown; probes?: unknown }
      if (parsed.format === FORMAT && Array.isArray(parsed.probes)) {
        stored = new Map(
          (parsed.probes as unknown[])
            .filter((p): p is StoredProbe => typeof (p as StoredProbe).key === 'string' && typeof (p as StoredProbe).stdout === 'string')
            .map((p) => [p.key, p.stdout]),
        )
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') logger?.warn({ err, file }, 'engine probe memo unreadable: probing the engines')
    }
    return new ProbeMemo(file, stored)
  }

  /** A memo that replays nothing and records every probe (to re-check a start that replayed). */
  static recorder(file: string): ProbeMemo {
    return new ProbeMemo(file, new Map())
  }

  /** A memo that replays `entries` (another process's `entries()`), to be saved to `file`. */
  static replaying(file: string, entries: Iterable<readonly [string, string]>): ProbeMemo {
    return new ProbeMemo(file, new Map(entries))
  }

  /** What this process's probes returned: each probe's key and stdout. */
  entries(): [string, string][] {
    return [...this.#seen]
  }

  /** How many probes were answered from the file, and how many ran. */
  get counts(): { readonly replayed: number; readonly ran: number } {
    return { replayed: this.#replayed, ran: this.#ran }
  }

  /**
   * The probe's stdout: remembered, or from `run` (then remembered). A binary that cannot be
   * found fails here, as running it would: TTS_ERR_ENGINE_UNAVAILABLE (without a process start).
   */
  async probe(call: ProbeCall, run: () => Promise<string>): Promise<string> {
    const path = await resolveExecutable(call.binary, call.searchPath)
    if (path === undefined) throw new TtsError('TTS_ERR_ENGINE_UNAVAILABLE', { args: [call.id, `${call.binary} not found or not executable`] })
    const file = await stat(path)
    const key = JSON.stringify([path, file.dev, file.ino, file.size, file.mtimeMs, file.ctimeMs, call.args, call.env ?? null])
    const remembered = this.#replay.get(key)
    if (remembered !== undefined) {
      this.#replayed++
      this.#seen.set(key, remembered)
      return remembered
    }
    const stdout = await run()
    this.#ran++
    this.#seen.set(key, stdout)
    return stdout
  }

  /** Whether `other` saw the same probes with the same outputs (nothing changed between them). */
  sameAs(other: ProbeMemo): boolean {
    if (other.#seen.size !== this.#seen.size) return false
    for (const [key, stdout] of this.#seen) if (other.#seen.get(key) !== stdout) return false
    return true
  }

  /**
   * Writes what this process's probes returned, and keeps what the file holds for other
   * binaries (another machine sharing the cache directory: its keys differ by device and
   * inode), newest first, at most MAX_STORED_PROBES entries in all: an old binary's entries age
   * out. Temp file + rename: a reader sees the old memo or the new one.
   */
  async save(): Promise<void> {
    const temp = `${this.#file}.${randomBytes(6).toString('hex')}.tmp`
    const others = [...(await ProbeMemo.load(this.#file)).#replay].filter(([key]) => !this.#seen.has(key))
    const probes: StoredProbe[] = [...this.#seen, ...others].slice(0, MAX_STORED_PROBES).map(([key, stdout]) => ({ key, stdout }))
    try {
      await writeFile(temp, `${JSON.stringify({ format: FORMAT, probes })}\n`, { mode: 0o644, flag: 'wx' })
      await rename(temp, this.#file)
    } catch (err) {
      await rm(temp, { force: true })
      throw err
    }
  }
}
