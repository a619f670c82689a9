import { constants } from 'node:fs'
import { access } from 'node:fs/promises'
import { delimiter, isAbsolute, join, resolve } from 'node:path'

/**
 * Where `binary` would be run from: itself when it holds a `/`, else the first executable
 * match on `searchPath` (the PATH string; the caller passes the service's own). undefined when
 * nothing executable is found. Used to report paths and to detect engines without running them.
 */
export async function resolveExecutable(binary: string, searchPath: string | undefined): Promise<string | undefined> {
  if (binary === '') return undefined
  if (binary.includes('/')) {
    const full = isAbsolute(binary) ? binary : resolve(binary)
    return (await isExecutable(full)) ? full : undefined
  }
  for (const dir of (searchPath ?? '').split(delimiter)) {
    if (dir === '') continue
    const candidate = join(dir, binary)
    if (await isExecutable(candidate)) return candidate
  }
  return undefined
}

async function isExecutable(path: string): Promise<boolean> {
  try {
    await access(path, constants.X_OK)
    return true
  } catch {
    // Missing or not executable: both mean "not this one".
    return false
  }
}
