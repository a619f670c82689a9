/**
 * Where each file of a key lives: `<cacheDir>/<k[0..2]>/<k[2..4]>/<key>.<suffix>`.
 * Only names derived from a validated key are ever built, so no path leaves cacheDir.
 */
import { randomBytes } from 'node:crypto'
import path from 'node:path'
import { isCacheKey } from '../../core/cache-key.js'
import { TtsError } from '../../core/errors.js'

/** Throws TTS_ERR_INVALID_KEY unless `key` is 64 lowercase hex characters. */
export function assertCacheKey(key: unknown): asserts key is string {
  if (!isCacheKey(key)) throw new TtsError('TTS_ERR_INVALID_KEY', { args: [JSON.stringify(String(key)).slice(0, 80)] })
}

export class CacheLayout {
  readonly cacheDir: string
  /** `cacheDir` and a separator: the paths below are concatenated, not joined. */
  readonly #root: string

  /** `cacheDir` must be absolute and normal (resolveStoreOptions makes it so). */
  constructor(cacheDir: string) {
    this.cacheDir = cacheDir
    this.#root = cacheDir.endsWith(path.sep) ? cacheDir : `${cacheDir}${path.sep}`
  }

  dirOf(key: string): string {
    return `${this.#root}${key.slice(0, 2)}${path.sep}${key.slice(2, 4)}`
  }

  /**
   * Built by concatenation (every piece is already normal): every hit computes it, and
   * path.join's normalisation cost ~2 µs a call on the benchmark VM, the stat of the file ~5 µs.
   */
  wavPath(key: string): string {
    return `${this.dirOf(key)}${path.sep}${key}.wav`
  }

  sidecarPath(key: string): string {
    return path.join(this.dirOf(key), `${key}.json`)
  }

  lockPath(key: string): string {
    return path.join(this.dirOf(key), `${key}.lock`)
  }

  /**
   * A fresh temp name beside the final file, carrying our pid so a start-up scan can tell a
   * dead process's leftovers from a live render: `<key>.<pid>.<random>.tmp.<ext>`.
   */
  tempPath(key: string, ext: TempExt): string {
    return path.join(this.dirOf(key), `${key}.${process.pid}.${randomBytes(6).toString('hex')}.tmp.${ext}`)
  }
}

export type TempExt = 'wav' | 'json' | 'lock'

/** What a file name in a leaf directory is, from the store's point of view. */
export type CacheFileName =
  | { readonly kind: 'wav' | 'sidecar' | 'lock'; readonly key: string }
  | { readonly kind: 'temp'; readonly key: string; readonly pid: number; readonly ext: TempExt }
  | { readonly kind: 'foreign' }

const FINAL_NAME = /^([0-9a-f]{64})\.(wav|json|lock)$/
// `.engine.wav`: the engine's scratch output beside a slot's temp file (src/engines/pipeline/render-audio.ts),
// left behind only if the process died mid-render; swept like any other temp file.
const TEMP_NAME = /^([0-9a-f]{64})\.(\d{1,10})\.[0-9a-f]{1,32}\.tmp\.(wav|json|lock)(?:\.engine\.wav)?$/
const FINAL_KIND = { wav: 'wav', json: 'sidecar', lock: 'lock' } as const

/** Classifies a directory entry name; anything the store did not write is `foreign` (left alone). */
export function parseCacheFileName(name: string): CacheFileName {
  const final = FINAL_NAME.exec(name)
  if (final !== null) {
    const [, key = '', ext = ''] = final
    return { kind: FINAL_KIND[ext as keyof typeof FINAL_KIND], key }
  }
  const temp = TEMP_NAME.exec(name)
  if (temp !== null) {
    const [, key = '', pid = '', ext = ''] = temp
    return { kind: 'temp', key, pid: Number(pid), ext: ext as TempExt }
  }
  return { kind: 'foreign' }
}

/** Names of the two shard levels: two lowercase hex characters. */
export const SHARD_NAME = /^[0-9a-f]{2}$/
