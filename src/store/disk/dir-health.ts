/**
 * The health stage of the disk store: the cache directory's identity (a vanished or replaced
 * directory has none or another) and its readiness for `/readyz`.
 */
import { statSync, type Stats } from 'node:fs'
import fs from 'node:fs/promises'
import { describeSpace, isLow, type SpaceInfo } from './disk-space.js'
import { errnoCode } from './fs-util.js'
import { STORE_DEFAULTS, type ResolvedStoreOptions } from './options.js'

/** The cache directory's identity: a vanished or replaced directory has none or another. */
export interface DirIdentity {
  readonly dev: number
  readonly ino: number
}

/** undefined when the directory does not exist; throws on other stat errors. */
export function dirIdentity(dir: string): DirIdentity | undefined {
  let stat: Stats | undefined
  try {
    stat = statSync(dir, { throwIfNoEntry: false })
  } catch (err) {
    if (errnoCode(err) === 'ENOTDIR') return undefined
    throw err
  }
  return stat === undefined || !stat.isDirectory() ? undefined : { dev: stat.dev, ino: stat.ino }
}

/** The cache directory's readiness (see DiskStore.health). */
export interface StoreHealth {
  readonly state: 'ok' | 'degraded' | 'failed'
  readonly detail: string
}

export interface DirHealthInput {
  readonly dir: string
  /** The directory's identity at open (or after the last audit). */
  readonly root: DirIdentity | undefined
  /** Entries indexed now. */
  readonly entries: number
  readonly options: Pick<ResolvedStoreOptions, 'minFreeBytes' | 'spaceReader'>
  /** Starts the whole-index check (joins one running). */
  readonly verifyIndex: () => void
  /** What the last whole-index check found ('' before any). */
  readonly staleSummary: () => string
}

/** See DiskStore.health. Never throws. */
export async function cacheDirHealth(input: DirHealthInput): Promise<StoreHealth> {
  const { dir, root, entries, options } = input
  let now: DirIdentity | undefined
  try {
    now = dirIdentity(dir)
  } catch (err) {
    return { state: 'failed', detail: `${dir} cannot be read: ${(err as Error).message}` }
  }
  if (now === undefined) {
    if (entries > 0) input.verifyIndex()
    return {
      state: 'degraded',
      detail:
        `${dir} is missing (deleted or unmounted?): every request renders again and the next render creates it; ` +
        `or create it (mkdir -p, owned by the service's user). ${input.staleSummary()}`.trim(),
    }
  }
  if (root !== undefined && now.dev !== root.dev) {
    return {
      state: 'degraded',
      detail: `${dir} is on another file system than at start (device ${now.dev}, was ${root.dev}): was it unmounted? Mount it back and restart the service`,
    }
  }
  if (root === undefined || now.ino !== root.ino) {
    input.verifyIndex()
    return {
      state: 'degraded',
      detail: `${dir} was removed and created again since start: checking the ${entries} indexed entries against the disk. ${input.staleSummary()}`.trim(),
    }
  }
  try {
    await fs.access(dir, fs.constants.W_OK)
  } catch (err) {
    return { state: 'failed', detail: `${dir} is not writable: ${(err as Error).message}` }
  }
  let space: SpaceInfo
  try {
    space = await options.spaceReader(dir)
  } catch (err) {
    return { state: 'degraded', detail: `${dir}: free space cannot be read (${(err as Error).message})` }
  }
  if (isLow(space, options.minFreeBytes, STORE_DEFAULTS.minFreeInodes)) {
    return {
      state: 'degraded',
      detail: `${dir}: ${describeSpace(space)}, below the threshold (TTS_MIN_FREE_BYTES=${options.minFreeBytes}): hits are served, new renders may fail with TTS_ERR_STORE_FULL`,
    }
  }
  return { state: 'ok', detail: `${dir}: ${describeSpace(space)}` }
}
