/** Small file-system helpers with the store's error contract: I/O failures become TTS_ERR_STORE_IO, wrapped. */
import { constants as fsc } from 'node:fs'
import fs from 'node:fs/promises'
import { TtsError } from '../../core/errors.js'

export function errnoCode(err: unknown): string | undefined {
  if (typeof err !== 'object' || err === null || !('code' in err)) return undefined
  const { code } = err as { code: unknown }
  return typeof code === 'string' ? code : undefined
}

/** Errno codes that mean "the file system (or the user's quota) is full". */
export function isOutOfSpaceErrno(code: string | undefined): boolean {
  return code === 'ENOSPC' || code === 'EDQUOT'
}

/**
 * Wraps an fs error, keeping it as `cause`; `action` names what we tried ("rename temp WAV").
 * ENOSPC/EDQUOT become TTS_ERR_STORE_FULL, anything else TTS_ERR_STORE_IO.
 */
export function storeIoError(err: unknown, action: string, filePath: string): TtsError {
  if (err instanceof TtsError) return err
  const code = errnoCode(err)
  if (isOutOfSpaceErrno(code)) {
    return new TtsError('TTS_ERR_STORE_FULL', { cause: err, args: [`${action} ${filePath} failed (${code})`], details: { path: filePath, errno: code } })
  }
  return new TtsError('TTS_ERR_STORE_IO', {
    cause: err,
    args: [`${action} ${filePath}`],
    details: { path: filePath, errno: errnoCode(err) },
  })
}

/**
 * Runs `use` on an open file and always closes it. A failure of `use` wins; if closing then
 * fails too, both travel together in an AggregateError (nothing is dropped).
 */
export async function usingFile<T>(handle: fs.FileHandle, use: (handle: fs.FileHandle) => Promise<T>): Promise<T> {
  let result: T
  try {
    result = await use(handle)
  } catch (err) {
    await handle.close().catch((closeErr: unknown) => {
      throw new AggregateError([err, closeErr], 'the file operation failed, then closing the file failed')
    })
    throw err
  }
  await handle.close()
  return result
}

/** Deletes a file; false when it was already gone. Any other failure throws TTS_ERR_STORE_IO. */
export async function unlinkIfExists(filePath: string): Promise<boolean> {
  try {
    await fs.unlink(filePath)
    return true
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return false
    throw storeIoError(err, 'delete', filePath)
  }
}

/** Makes a rename or unlink in `dir` durable. File systems that cannot fsync a directory are tolerated. */
export async function fsyncDir(dir: string): Promise<void> {
  try {
    const handle = await fs.open(dir, fsc.O_RDONLY | fsc.O_DIRECTORY)
    await usingFile(handle, (h) => h.sync())
  } catch (err) {
    const code = errnoCode(err)
    // Some file systems (and platforms) refuse fsync on a directory: there is nothing more we can do.
    if (code === 'EINVAL' || code === 'EISDIR' || code === 'ENOTSUP' || code === 'EPERM') return
    throw storeIoError(err, 'fsync directory', dir)
  }
}

/**
 * Writes `data` to `tempPath` (created exclusively), fsyncs it and renames it over `finalPath`:
 * a reader sees the old content or the new one, never a mix. The caller fsyncs the directory.
 */
export async function writeFileAtomic(tempPath: string, finalPath: string, data: string): Promise<void> {
  await writeFileSynced(tempPath, data, finalPath)
  await renameOrRemove(tempPath, finalPath, 'write')
}

/**
 * Writes `data` to `tempPath` (created exclusively) and fsyncs it: ready to be renamed over
 * `finalPath` (`renameOrRemove`), which errors name. On failure the temp file is gone.
 */
export async function writeFileSynced(tempPath: string, data: string, finalPath: string): Promise<void> {
  try {
    const handle = await fs.open(tempPath, 'wx', 0o644)
    await usingFile(handle, async (h) => {
      await h.writeFile(data, 'utf8')
      await h.sync()
    })
  } catch (err) {
    await removeTempAfterFailure(err, tempPath, finalPath, 'write')
    throw storeIoError(err, 'write', finalPath)
  }
}

/** Renames `tempPath` over `finalPath`; on failure removes `tempPath`. `action` names it in errors. */
export async function renameOrRemove(tempPath: string, finalPath: string, action: string): Promise<void> {
  try {
    await fs.rename(tempPath, finalPath)
  } catch (err) {
    await removeTempAfterFailure(err, tempPath, finalPath, action)
    throw storeIoError(err, action, finalPath)
  }
}

/**
 * Removes `tempPath` after `err` made it useless; returns so the caller can throw `err`. If the
 * removal fails too, throws both in one TTS_ERR_STORE_IO (nothing is dropped).
 */
export async function removeTempAfterFailure(err: unknown, tempPath: string, finalPath: string, action: string): Promise<void> {
  try {
    await unlinkIfExists(tempPath)
  } catch (cleanupErr) {
    throw new TtsError('TTS_ERR_STORE_IO', {
      cause: new AggregateError([err, cleanupErr], `${action} failed, then removing its temp file failed`),
      args: [`${action} ${finalPath}`],
      details: { path: finalPath, tempPath },
    })
  }
}

/**
 * True when a process with this pid exists on this host (EPERM: it exists, owned by someone else).
 * Rejects pids that would address a process group (0, negatives) or are not integers.
 */
export function isProcessAlive(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return errnoCode(err) !== 'ESRCH'
  }
}
