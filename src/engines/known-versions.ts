/**
 * The engine versions a service last found, remembered in the cache directory, so that a service
 * whose default engine has gone missing (uninstalled, a PATH without it) still computes the keys
 * of what it cached and serves those hits (EngineCatalog.detect with `missingDefault`).
 */
import { readFile, rename, writeFile } from 'node:fs/promises'
import type { TtsError } from '../core/errors.js'

/** The file's name in the cache directory (the store's scan reads only the shard directories). */
export const KNOWN_VERSIONS_FILE = '.engine-versions.json'

const FORMAT = 1

/** Engine id → the version it last reported. Missing, unreadable or foreign file: empty. */
export async function loadKnownVersions(file: string): Promise<ReadonlyMap<string, string>> {
  try {
    const parsed = JSON.parse(await readFile(file, 'utf8')) as { format?: unknown; versions?: unknown }
    if (parsed.format !== FORMAT || parsed.versions === null || typeof parsed.versions !== 'object') return new Map()
    return new Map(Object.entries(parsed.versions as Record<string, unknown>).filter((e): e is [string, string] => typeof e[1] === 'string'))
  } catch {
    return new Map()
  }
}

/** Adds `found` to what the file holds (an engine missing now keeps its last version). Atomic. */
export async function saveKnownVersions(file: string, found: ReadonlyMap<string, string>): Promise<void> {
  const versions = Object.fromEntries([...(await loadKnownVersions(file)), ...found])
  const temp = `${file}.${process.pid}.tmp`
  await writeFile(temp, `${JSON.stringify({ format: FORMAT, versions })}\n`)
  await rename(temp, file)
}

/** A default engine the catalog started without (EngineCatalog.detect `missingDefault`). */
export interface MissingEngine {
  readonly id: string
  readonly error: TtsError
  /** Its version at the last start (known-versions.ts), or undefined: then no key can be computed. */
  readonly version: string | undefined
}

export function missingWarning(missing: MissingEngine): string {
  return missing.version === undefined
    ? 'starting without the default engine and without its last version: nothing cached can be matched, every call fails with TTS_ERR_ENGINE_UNAVAILABLE'
    : 'starting without the default engine: cached phrases are served, misses fail at once with TTS_ERR_ENGINE_UNAVAILABLE'
}
