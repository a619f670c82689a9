/**
 * Free space on the cache's file system: for `/readyz` (degraded below a threshold) and to name a
 * render that failed because the disk filled up (TTS_ERR_STORE_FULL) instead of blaming the engine.
 *
 * Why a render needs this: when sox meets ENOSPC it prints "No space left on device" and exits 0,
 * leaving a short WAV whose header may even match its length (measured on a 64 KiB tmpfs with sox
 * 14.4.2). So besides ENOSPC/EDQUOT from our own writes, a render whose output is cut short (a
 * header claiming more than the file holds, or less audio than the engine spoke) while the file
 * system is below its free-space threshold is reported as a full store.
 */
import fs from 'node:fs/promises'
import { TtsError } from '../../core/errors.js'
import { errnoCode } from './fs-util.js'


export interface SpaceInfo {
  /** Bytes an unprivileged writer may still use (f_bavail × f_bsize). */
  readonly freeBytes: number
  readonly totalBytes: number
  /** Inodes left (f_ffree); a file system out of inodes fails with ENOSPC too. */
  readonly freeInodes: number
  readonly totalInodes: number
}

/** Reads the free space of the file system holding `dir` (injectable for tests). */
export type SpaceReader = (dir: string) => Promise<SpaceInfo>

export const statfsSpace: SpaceReader = async (dir) => {
  const s = await fs.statfs(dir)
  return { freeBytes: s.bavail * s.bsize, totalBytes: s.blocks * s.bsize, freeInodes: s.ffree, totalInodes: s.files }
}

/** Whether `space` is below the thresholds (`minFreeBytes`; inodes: `minFreeInodes`, only where the file system counts them). */
export function isLow(space: SpaceInfo, minFreeBytes: number, minFreeInodes: number): boolean {
  return space.freeBytes < minFreeBytes || (space.totalInodes > 0 && space.freeInodes < minFreeInodes)
}

/** One line for logs and `/readyz`: "12.0 MiB free of 2.0 GiB, 1200 inodes free". */
export function describeSpace(space: SpaceInfo): string {
  const inodes = space.totalInodes > 0 ? `, ${space.freeInodes} inodes free` : ''
  return `${formatBytes(space.freeBytes)} free of ${formatBytes(space.totalBytes)}${inodes}`
}

export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB']
  let value = bytes
  let unit = 0
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024
    unit++
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(1)} ${units[unit] ?? ''}`
}

/** TTS_ERR_STORE_FULL for `dir`, wrapping what failed. */
export function storeFullError(dir: string, cause: unknown, space?: SpaceInfo): TtsError {
  const errno = errnoCode(cause)
  return new TtsError('TTS_ERR_STORE_FULL', {
    cause,
    args: [space === undefined ? dir : `${dir} (${describeSpace(space)})`],
    details: { path: dir, ...(errno === undefined ? {} : { errno }), ...(space === undefined ? {} : { freeBytes: space.freeBytes, freeInodes: space.freeInodes }) },
  })
}
