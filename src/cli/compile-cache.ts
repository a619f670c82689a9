/**
 * Node's on-disk compile cache (Node >= 22.1) for the `tts-cache` bin: code compiled at one start
 * is re-used at the next. Read by src/cli/main.ts before anything else loads, so only node:
 * built-ins here (no config schema: the cache must be on before the config's modules load).
 *
 * Where: `TTS_COMPILE_CACHE_DIR` (`off` turns it off), else Node's own `NODE_COMPILE_CACHE`, else
 * systemd's `CacheDirectory=` (`$CACHE_DIRECTORY/node-compile-cache`: the shipped unit sets
 * it), else `$XDG_CACHE_HOME/tts-cache/node-compile-cache` (`~/.cache/…`). Never os.tmpdir(),
 * Node's default: under systemd's PrivateTmp= that is emptied at every stop, so every restart
 * compiled everything again. Fails soft: a directory that cannot be made or written leaves the
 * cache off and the command runs as before.
 */
import module from 'node:module'
import { homedir } from 'node:os'
import { isAbsolute, join } from 'node:path'

export const COMPILE_CACHE_ENV = 'TTS_COMPILE_CACHE_DIR'

/** The directory the compile cache goes to, or undefined when it is turned off. */
export function compileCacheDir(env: Readonly<Record<string, string | undefined>>): string | undefined {
  const own = env[COMPILE_CACHE_ENV]
  if (own !== undefined && own !== '') return own === 'off' ? undefined : own
  const node = env['NODE_COMPILE_CACHE']
  if (node !== undefined && node !== '') return node
  // systemd: several directories are separated by ':'; ours is the first.
  const systemd = env['CACHE_DIRECTORY']?.split(':')[0]
  if (systemd !== undefined && isAbsolute(systemd)) return join(systemd, 'node-compile-cache')
  const xdg = env['XDG_CACHE_HOME']
  const base = xdg !== undefined && isAbsolute(xdg) ? xdg : join(env['HOME'] ?? homedir(), '.cache')
  return join(base, 'tts-cache', 'node-compile-cache')
}

/** Turns the compile cache on (see above); returns where, or undefined (off, unsupported, or it failed). */
export function enableCompileCache(env: Readonly<Record<string, string | undefined>>): string | undefined {
  const dir = compileCacheDir(env)
  if (dir === undefined || typeof module.enableCompileCache !== 'function') return undefined
  try {
    const result = module.enableCompileCache(dir)
    return result.status === module.constants.compileCacheStatus.FAILED ? undefined : result.directory
  } catch {
    return undefined
  }
}

/** Writes what was compiled so far (normally written at exit): a service killed later keeps it. Never throws. */
export function flushCompileCache(): void {
  try {
    module.flushCompileCache?.()
  } catch {
    // A cache that cannot be written is no failure of the service.
  }
}
