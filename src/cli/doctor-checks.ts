/**
 * The checks of `tts-cache doctor`, each one line `ok`, `warn` or `fail` (fail: exit 1): every
 * engine (found, or why not), sox, the cache dir writable, the HTTP and ESL ports free, Redis
 * when configured, the FreeSWITCH inbound ESL login when FS_ESL_HOST is set. None hides another.
 */
import { randomBytes } from 'node:crypto'
import { mkdir, rm, writeFile } from 'node:fs/promises'
import { createConnection, createServer } from 'node:net'
import { join } from 'node:path'
import type { Config } from '../config/schema.js'
import type { CatalogDescription } from '../engines/catalog.js'

export type CheckLevel = 'ok' | 'warn' | 'fail'

export interface Check {
  readonly name: string
  readonly level: CheckLevel
  readonly detail: string
}

/** One line per engine (the default one failing when missing, the others warning), and sox. */
export function engineChecks(engines: CatalogDescription): Check[] {
  const checks: Check[] = engines.engines.map((e) => {
    const name = `engine ${e.id}${e.isDefault ? ' (default)' : ''}`
    if (e.found) return { name, level: 'ok', detail: `${e.version ?? '?'} at ${e.path ?? e.binary}${e.voices === undefined ? '' : `, ${e.voices} voices`}` }
    const why = e.error ?? 'not found'
    return e.isDefault
      ? { name, level: 'fail', detail: `${why} (serve starts degraded: cached phrases only; install it or set TTS_ENGINE)` }
      : { name, level: 'warn', detail: `${why} (disabled)` }
  })
  const sox = engines.sox
  checks.push(
    sox.found
      ? { name: 'sox', level: 'ok', detail: `${sox.version ?? '?'} at ${sox.path ?? sox.binary}` }
      : { name: 'sox', level: 'warn', detail: `${sox.error ?? 'not found'} (renders whose engine output is not canonical fail; TTS_SOX_BIN)` },
  )
  return checks
}

export async function cacheDirCheck(dir: string): Promise<Check> {
  const probe = join(dir, `.doctor-${randomBytes(6).toString('hex')}`)
  try {
    await mkdir(dir, { recursive: true })
    await writeFile(probe, 'ok')
    await rm(probe)
    return { name: 'cache dir', level: 'ok', detail: `${dir} is writable` }
  } catch (error) {
    return { name: 'cache dir', level: 'fail', detail: `${dir}: ${(error as Error).message} (TTS_CACHE_DIR)` }
  }
}

/** HTTP and ESL listen addresses: free (ok), or in use (warn: a running serve holds them, or another program). */
export async function portChecks(config: Config): Promise<Check[]> {
  const fronts: [string, boolean, string, number, string][] = [
    ['http port', config.httpEnabled, config.httpHost, config.httpPort, 'TTS_HTTP_HOST/TTS_HTTP_PORT'],
    ['esl port', config.eslEnabled, config.eslHost, config.eslPort, 'TTS_ESL_HOST/TTS_ESL_PORT'],
  ]
  return Promise.all(
    fronts.map(async ([name, enabled, host, port, setting]): Promise<Check> => {
      if (!enabled) return { name, level: 'ok', detail: 'disabled' }
      const error = await tryListen(host, port)
      if (error === undefined) return { name, level: 'ok', detail: `${host}:${port} is free` }
      const level = error.code === 'EADDRINUSE' ? 'warn' : 'fail'
      const why = error.code === 'EADDRINUSE' ? 'in use (by a running serve, or another program: serve would not start)' : error.message
      return { name, level, detail: `${host}:${port} ${why} (${setting})` }
    }),
  )
}

function tryListen(host: string, port: number): Promise<NodeJS.ErrnoException | undefined> {
  return new Promise((resolve) => {
    const server = createServer()
    server.once('error', (err: NodeJS.ErrnoException) => resolve(err))
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve(undefined)))
  })
}

const FS_LOGIN_TIMEOUT_MS = 3000

/** Logs in to FreeSWITCH's mod_event_socket (FS_ESL_HOST/PORT/PASSWORD) and leaves at once. */
export function freeswitchCheck(host: string, port: number, password: string): Promise<Check> {
  const name = 'freeswitch inbound esl'
  const where = `${host}:${port}`
  if (/[\r\n]/.test(password)) return Promise.resolve({ name, level: 'fail', detail: 'FS_ESL_PASSWORD contains a line break' })
  return new Promise((resolve) => {
    let received = ''
    let sentAuth = false
    const socket = createConnection({ host, port })
    const done = (level: CheckLevel, detail: string): void => {
      clearTimeout(timer)
      socket.destroy()
      resolve({ name, level, detail: `${where}: ${detail}` })
    }
    const timer = setTimeout(() => done('fail', `no answer within ${FS_LOGIN_TIMEOUT_MS} ms (FS_ESL_HOST/FS_ESL_PORT)`), FS_LOGIN_TIMEOUT_MS)
    socket.on('error', (err) => done('fail', `${err.message} (FS_ESL_HOST/FS_ESL_PORT; mod_event_socket's listen-ip/listen-port)`))
    socket.on('close', () => done('fail', received.includes('rude-rejection') ? "refused by its ACL (event_socket.conf.xml's apply-inbound-acl)" : 'closed the connection before the login'))
    socket.setEncoding('utf8').on('data', (chunk: string) => {
      received += chunk
      if (!sentAuth && received.includes('auth/request')) {
        sentAuth = true
        received = ''
        socket.write(`auth ${password}\n\n`)
        return
      }
      const reply = /Reply-Text: ([^\n]*)/.exec(received)?.[1]
      if (!sentAuth || reply === undefined) return
      if (reply.startsWith('+OK')) {
        socket.write('exit\n\n')
        done('ok', 'logged in')
      } else done('fail', `login refused (${reply.trim()}): check FS_ESL_PASSWORD against event_socket.conf.xml`)
    })
  })
}
