import { accessSync, constants } from 'node:fs'
import { homedir } from 'node:os'
import { join } from 'node:path'

/** The system-wide cache directory (root, or a service account that owns it). */
export const SYSTEM_CACHE_DIR = '/var/lib/tts-cache'

export interface CacheDirProbe {
  /** The user id (process.getuid()); undefined where there is none (Windows). */
  readonly uid: number | undefined
  /** True when this process can write `dir` (an existing directory). */
  readonly writable: (dir: string) => boolean
  readonly home: () => string
}

const REAL_PROBE: CacheDirProbe = {
  uid: process.getuid?.(),
  writable: (dir) => {
    try {
      accessSync(dir, constants.W_OK)
      return true
    } catch {
      return false
    }
  },
  home: homedir,
}

/**
 * THE default cache directory, for every command (serve, worker, get, prewarm, stats, purge,
 * doctor), used when neither TTS_CACHE_DIR, the config file's cacheDir nor --cache-dir is set:
 * root → /var/lib/tts-cache; any other user → /var/lib/tts-cache if it exists and this user can
 * write it (a service account), else $XDG_CACHE_HOME/tts-cache (default ~/.cache/tts-cache).
 */
export function defaultCacheDir(env: Readonly<Record<string, string | undefined>>, probe: CacheDirProbe = REAL_PROBE): string {
  if (probe.uid === 0 || probe.writable(SYSTEM_CACHE_DIR)) return SYSTEM_CACHE_DIR
  const xdg = env['XDG_CACHE_HOME']
  const base = xdg !== undefined && xdg.startsWith('/') ? xdg : join(env['HOME'] !== undefined && env['HOME'] !== '' ? env['HOME'] : probe.home(), '.cache')
  return join(base, 'tts-cache')
}
