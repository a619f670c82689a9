/**
 * The real nginx (Debian: nginx-light) running the shipped front, deploy/nginx/tts-cache.conf.template,
 * with its four placeholders filled in: `nginx -p <dir> -c <dir>/nginx.conf -g 'daemon off;'`, its
 * pid, error log, access log, temp directories and state directory (`<dir>/state`: remembered
 * lookups) in `dir`, its lookup server on another free port, on a free 127.0.0.1 port. Stopped with
 * SIGTERM, then SIGKILL (bounded).
 */
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { createServer, connect } from 'node:net'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { ROOT } from '../app/test-app.js'

/** nginx's binary when installed (Debian puts it in /usr/sbin, often not on a user's PATH). */
export const NGINX_BIN = ['/usr/sbin/nginx', '/usr/bin/nginx', '/usr/local/sbin/nginx'].find((p) => existsSync(p))

export const FRONT_TEMPLATE = join(ROOT, 'deploy/nginx/tts-cache.conf.template')

/** The shipped template with its four placeholders filled in, as envsubst does. */
export function renderFrontConfig(template: string, values: { cacheDir: string; serviceAddr: string; listen: string; lookupListen: string; stateDir: string }): string {
  const filled = template
    .replaceAll('${TTS_FRONT_LOOKUP_LISTEN}', values.lookupListen)
    .replaceAll('${TTS_FRONT_STATE_DIR}', values.stateDir)
    .replaceAll('${TTS_CACHE_DIR}', values.cacheDir)
    .replaceAll('${TTS_SERVICE_ADDR}', values.serviceAddr)
    .replaceAll('${TTS_FRONT_LISTEN}', values.listen)
  const left = /\$\{[A-Z_]+\}/.exec(filled)
  if (left !== null) throw new Error(`deploy/nginx template: unknown placeholder ${left[0]}`)
  return filled
}

export interface NginxFront {
  /** `http://127.0.0.1:<port>` */
  readonly base: string
  readonly port: number
  readonly dir: string
  errorLog(): Promise<string>
  /** One line per request: `<status> <upstream address or -> <method> <uri as sent>`. */
  accessLog(): Promise<string>
  stop(): Promise<void>
}

export interface NginxFrontOptions {
  readonly cacheDir: string
  /** host:port of the service */
  readonly serviceAddr: string
  /** An empty directory of the caller's (removed by it). */
  readonly dir: string
  /** Give up waiting for the port after this long (the process is then killed). Default 15 s. */
  readonly startTimeoutMs?: number
}

export async function startNginxFront(options: NginxFrontOptions): Promise<NginxFront> {
  if (NGINX_BIN === undefined) throw new Error('nginx is not installed (apt-get install nginx-light)')
  const { dir } = options
  const port = await freePort()
  const stateDir = join(dir, 'state')
  await mkdir(stateDir, { recursive: true })
  const front = renderFrontConfig(await readFile(FRONT_TEMPLATE, 'utf8'), {
    cacheDir: options.cacheDir,
    serviceAddr: options.serviceAddr,
    listen: `127.0.0.1:${port}`,
    lookupListen: `127.0.0.1:${await freePort()}`,
    stateDir,
  })
  await writeFile(join(dir, 'tts-cache.conf'), front)
  // As root, workers would run as `nobody` and could not read a test's 0700 temp directories.
  const root = process.getuid?.() === 0
  await writeFile(
    join(dir, 'nginx.conf'),
    [
      root ? 'user root;' : '',
      'worker_processes 1;',
      `pid ${join(dir, 'nginx.pid')};`,
      `error_log ${join(dir, 'error.log')} info;`,
      'events { worker_connections 256; }',
      'http {',
      '  log_format front \'$status $upstream_addr $request_method $request_uri\';',
      `  access_log ${join(dir, 'access.log')} front;`,
      ...['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((kind) => `  ${kind}_temp_path ${join(dir, kind)};`),
      `  include ${join(dir, 'tts-cache.conf')};`,
      '}',
      '',
    ].join('\n'),
  )
  const child = spawn(NGINX_BIN, ['-p', dir, '-c', join(dir, 'nginx.conf'), '-g', 'daemon off;'], { stdio: ['ignore', 'ignore', 'pipe'] })
  let stderr = ''
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(-4000)))
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const running = (): boolean => child.exitCode === null && child.signalCode === null
  const stop = async (): Promise<void> => {
    if (!running()) return
    child.kill('SIGTERM')
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000)
    await exited
    clearTimeout(timer)
  }
  const deadline = Date.now() + (options.startTimeoutMs ?? 15_000)
  while (!(await accepts(port))) {
    if (!running() || Date.now() > deadline) {
      await stop()
      const log = await readFile(join(dir, 'error.log'), 'utf8').catch(() => '')
      throw new Error(`nginx did not listen on 127.0.0.1:${port}: ${stderr}${log}`)
    }
    await sleep(20)
  }
  return {
    base: `http://127.0.0.1:${port}`,
    port,
    dir,
    errorLog: () => readFile(join(dir, 'error.log'), 'utf8'),
    accessLog: () => readFile(join(dir, 'access.log'), 'utf8'),
    stop,
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      server.close(() => (typeof address === 'object' && address !== null ? resolve(address.port) : reject(new Error('no port'))))
    })
  })
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port })
    socket.once('connect', () => {
      socket.destroy()
      resolve(true)
    })
    socket.once('error', () => resolve(false))
  })
}
