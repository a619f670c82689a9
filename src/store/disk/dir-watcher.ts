/**
 * Wakes waiting claims when a key's WAV or lock appears or vanishes, without polling:
 * one fs.watch per directory with waiters, shared by them, closed when the last one leaves.
 * A timer is the fallback (stale locks change nothing on disk; network file systems send no events).
 */
import fs from 'node:fs'
import type { Logger } from '../../core/ports/index.js'
import { abortError } from '../../core/single-flight.js'

interface DirWatch {
  readonly watcher: fs.FSWatcher | undefined
  readonly subscribers: Set<Subscription>
}

/** Events for one key in one directory. Subscribe before checking the state, so nothing is missed. */
export class Subscription {
  readonly names: ReadonlySet<string>
  #dirty = false
  #wake: (() => void) | undefined
  readonly #unsubscribe: (sub: Subscription) => void

  constructor(names: readonly string[], unsubscribe: (sub: Subscription) => void) {
    this.names = new Set(names)
    this.#unsubscribe = unsubscribe
  }

  /** Called by the watcher: something happened to one of our names (or to an unknown name). */
  notify(): void {
    this.#dirty = true
    this.#wake?.()
  }

  /**
   * Resolves at the next event since the previous call (at once if one came meanwhile), or after
   * `fallbackMs`; rejects with the core's abort error when `signal` aborts.
   */
  next(fallbackMs: number, signal: AbortSignal | undefined): Promise<void> {
    if (signal?.aborted === true) return Promise.reject(abortError(signal))
    if (this.#dirty) {
      this.#dirty = false
      return Promise.resolve()
    }
    return new Promise<void>((resolve, reject) => {
      const done = (): void => {
        clearTimeout(timer)
        signal?.removeEventListener('abort', onAbort)
        this.#wake = undefined
        this.#dirty = false
      }
      const onAbort = (): void => {
        done()
        reject(abortError(signal as AbortSignal))
      }
      const timer = setTimeout(() => {
        done()
        resolve()
      }, fallbackMs)
      this.#wake = () => {
        done()
        resolve()
      }
      signal?.addEventListener('abort', onAbort, { once: true })
    })
  }

  close(): void {
    this.#wake = undefined
    this.#unsubscribe(this)
  }
}

export class DirWatchers {
  readonly #dirs = new Map<string, DirWatch>()
  readonly #log: Logger

  constructor(logger: Logger) {
    this.#log = logger
  }

  /** Watches `names` (file names, not paths) in `dir`, which must exist. */
  subscribe(dir: string, names: readonly string[]): Subscription {
    let watch = this.#dirs.get(dir)
    if (watch === undefined) {
      watch = { watcher: this.#startWatcher(dir), subscribers: new Set() }
      this.#dirs.set(dir, watch)
    }
    const sub = new Subscription(names, (s) => this.#unsubscribe(dir, s))
    watch.subscribers.add(sub)
    return sub
  }

  /** Number of directories watched now (for tests and stats). */
  get size(): number {
    return this.#dirs.size
  }

  closeAll(): void {
    for (const [dir, watch] of this.#dirs) {
      watch.watcher?.close()
      for (const sub of watch.subscribers) sub.notify()
      this.#dirs.delete(dir)
    }
  }

  #startWatcher(dir: string): fs.FSWatcher | undefined {
    try {
      const watcher = fs.watch(dir, { persistent: false }, (_event, name) => this.#dispatch(dir, name))
      watcher.on('error', (err) => {
        // The fallback timer keeps waiters going; they just notice changes later.
        this.#log.warn({ err, dir }, 'directory watch failed; waiting claims fall back to polling')
        this.#wakeAll(dir)
      })
      return watcher
    } catch (err) {
      this.#log.warn({ err, dir }, 'cannot watch directory; waiting claims fall back to polling')
      return undefined
    }
  }

  #dispatch(dir: string, name: string | Buffer | null): void {
    const watch = this.#dirs.get(dir)
    if (watch === undefined) return
    const file = name === null ? undefined : name.toString()
    for (const sub of watch.subscribers) {
      // No name (some platforms, queue overflow): anything may have changed.
      if (file === undefined || sub.names.has(file)) sub.notify()
    }
  }

  #wakeAll(dir: string): void {
    for (const sub of this.#dirs.get(dir)?.subscribers ?? []) sub.notify()
  }

  #unsubscribe(dir: string, sub: Subscription): void {
    const watch = this.#dirs.get(dir)
    if (watch === undefined) return
    watch.subscribers.delete(sub)
    if (watch.subscribers.size === 0) {
      watch.watcher?.close()
      this.#dirs.delete(dir)
    }
  }
}
