import { randomBytes } from 'node:crypto'
import { mkdir, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { Config } from '../config/schema.js'
import { isTtsError, TtsError } from '../core/errors.js'

/**
 * Refuses a cache directory this process cannot create or write (before anything starts on it:
 * an unwritable directory used to start anyway and fail each render). The error names the
 * setting to change.
 */
export async function ensureWritableCacheDir(dir: string): Promise<void> {
  const probe = join(dir, `.write-check-${randomBytes(6).toString('hex')}`)
  try {
    await mkdir(dir, { recursive: true })
    await writeFile(probe, '')
    await rm(probe, { force: true })
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'error'
    throw new TtsError('TTS_ERR_CACHE_DIR', { cause: error, args: [dir, `${code}: ${(error as Error).message}`] })
  }
}

const LISTEN_CODES: Readonly<Record<string, string>> = {
  EADDRINUSE: 'the address is already in use (another process holds the port)',
  EACCES: 'permission denied (ports below 1024 need privileges)',
  EADDRNOTAVAIL: 'the address is not on this machine',
}

/**
 * A listener that could not bind, said with the settings to change: the HTTP front throws the
 * raw `listen EADDRINUSE`, the ESL hook a TTS_ERR_CONFIG wrapping it. Anything else is returned as is.
 */
export function explainListenError(error: unknown, config: Config): unknown {
  const esl = isTtsError(error, 'TTS_ERR_CONFIG') && error.cause !== undefined
  const cause = (esl ? (error as TtsError).cause : error) as NodeJS.ErrnoException & { port?: number; address?: string }
  const reason = typeof cause?.code === 'string' ? LISTEN_CODES[cause.code] : undefined
  if (reason === undefined || cause.syscall !== 'listen') return error
  const [front, host, port, names] = esl
    ? ['ESL hook', config.eslHost, config.eslPort, 'TTS_ESL_PORT (or TTS_ESL_HOST)']
    : ['HTTP API', config.httpHost, config.httpPort, 'TTS_HTTP_PORT (or TTS_HTTP_HOST)']
  return new TtsError('TTS_ERR_LISTEN', { cause: error, args: [front, `${host}:${port}`, reason, names], details: { host, port, code: cause.code } })
}
