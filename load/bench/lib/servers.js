// @ts-check
/**
 * Child processes the benchmark listens to: our `serve` (the real CLI, as deployed), the
 * @fastify/static and nginx baselines, redis-server. Every child is bounded: `stop()` sends SIGTERM,
 * then SIGKILL after a grace, and resolves with how it ended.
 */
import { spawn } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { createServer, connect } from 'node:net'
import path from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { REPO_ROOT } from './ours.js'

/**
 * The V8 flags and environment `bootstrap.sh serve`, `serve --supervise`, the Dockerfile and the
 * systemd unit run `serve` with (src/supervision/serve-memory.ts; test/faults/serve-memory.test.ts
 * keeps these copies equal to it).
 */
export const SERVE_NODE_ARGS = Object.freeze(['--max-semi-space-size=1', '--heap-growing-percent=10'])
export const SERVE_ENV = Object.freeze({ MALLOC_ARENA_MAX: '1', MALLOC_MMAP_THRESHOLD_: '131072' })

/**
 * Resident set size of a process, from /proc (Linux).
 * @param {number} pid
 */
export function rssOf(pid) {
  const kb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]
  return kb === undefined ? Number.NaN : Number(kb) * 1024
}

/**
 * RSS of `pid` from /proc every second from now on (issue 19: from the spawn, nothing left out),
 * each sample tagged with the run's current phase. /proc only, so no scrape of /metrics disturbs
 * the event-loop delay a run reports. `sample()` takes one more now; `stop()` ends the sampling.
 * @param {number | undefined} pid
 */
export function sampleRssFromSpawn(pid) {
  /** @type {{ t: number, phase: 'start' | 'setup' | 'load', rss: number }[]} */
  const memory = []
  const state = { phase: /** @type {'start' | 'setup' | 'load'} */ ('start') }
  const spawnedAt = performance.now()
  const sample = () => {
    try {
      memory.push({ t: (performance.now() - spawnedAt) / 1000, phase: state.phase, rss: rssOf(pid) })
    } catch {
      // The process is gone: its exit is reported by what waits on it.
    }
  }
  sample()
  const timer = setInterval(sample, 1000)
  return { memory, state, sample, stop: () => clearInterval(timer) }
}

/** A free TCP port on 127.0.0.1 (bound, then released). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      const port = typeof address === 'object' && address !== null ? address.port : 0
      server.close(() => resolve(/** @type {number} */ (port)))
    })
  })
}

/** Children still running, so run-all can stop them all if a scenario is abandoned. */
const live = new Set()

/** Stops every child this module started that is still running (bounded). */
export async function stopAllChildren(graceMs = 5000) {
  await Promise.all([...live].map((/** @type {Child} */ c) => c.stop(graceMs)))
}

/**
 * @typedef {object} Child
 * @property {number} pid
 * @property {() => string} output last few kB of stdout+stderr
 * @property {Promise<{ code: number | null, signal: string | null }>} exited
 * @property {(graceMs?: number) => Promise<{ code: number | null, signal: string | null }>} stop
 */

/**
 * @param {string} file
 * @param {string[]} args
 * @param {{ env?: NodeJS.ProcessEnv, cwd?: string }} [options]
 * @returns {Child}
 */
export function startChild(file, args, options = {}) {
  const child = spawn(file, args, { cwd: options.cwd ?? REPO_ROOT, env: options.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  const keep = (/** @type {Buffer} */ chunk) => {
    output = (output + chunk.toString('utf8')).slice(-8000)
  }
  child.stdout.on('data', keep)
  child.stderr.on('data', keep)
  /** @type {Promise<{ code: number | null, signal: string | null }>} */
  const exited = new Promise((resolve) => {
    child.once('exit', (code, signal) => {
      live.delete(handle)
      resolve({ code, signal })
    })
    child.once('error', (err) => {
      keep(Buffer.from(`spawn error: ${err.message}\n`))
      resolve({ code: -1, signal: null })
    })
  })
  /** @type {Child} */
  const handle = {
    pid: child.pid ?? -1,
    output: () => output,
    exited,
    async stop(graceMs = 10_000) {
      if (child.exitCode !== null || child.signalCode !== null) return exited
      child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs)
      try {
        return await exited
      } finally {
        clearTimeout(timer)
      }
    },
  }
  live.add(handle)
  return handle
}

/**
 * Polls until `url` answers 2xx, the child exits, or the time is up.
 * @param {string} url
 * @param {Child} child
 * @param {number} timeoutMs
 */
export async function waitForHttp(url, child, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs
  let exited = false
  void child.exited.then(() => {
    exited = true
  })
  while (Date.now() < deadline && !exited) {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2000) })
      await res.arrayBuffer()
      if (res.ok) return
    } catch {
      // not listening yet
    }
    await sleep(100)
  }
  throw new Error(`${url} did not become ready within ${timeoutMs} ms${exited ? ' (the process exited)' : ''}:\n${child.output()}`)
}

/**
 * Polls until a TCP connect to 127.0.0.1:port succeeds.
 * @param {number} port
 * @param {Child} child
 * @param {number} timeoutMs
 */
export async function waitForTcp(port, child, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    const ok = await new Promise((resolve) => {
      const socket = connect({ port, host: '127.0.0.1' })
      socket.once('connect', () => {
        socket.destroy()
        resolve(true)
      })
      socket.once('error', () => resolve(false))
    })
    if (ok) return
    await sleep(100)
  }
  throw new Error(`port ${port} did not open within ${timeoutMs} ms:\n${child.output()}`)
}

/**
 * `node dist/cli/main.js serve` with its configuration in the environment, as an operator
 * runs it: every scenario's `serve` has the deployed flags (SERVE_NODE_ARGS) and environment
 * (SERVE_ENV), so a throughput row and a memory row measure the same process. `nodeArgs`
 * (e.g. --cpu-prof) go after SERVE_NODE_ARGS, before the script.
 * @param {{ env: Record<string, string>, nodeArgs?: readonly string[] }} options
 */
export function startServe(options) {
  return startChild(process.execPath, serveArgv(options.nodeArgs), {
    env: { ...SERVE_ENV, ...process.env, TTS_LOG_LEVEL: 'warn', ...options.env },
  })
}

/**
 * The argv (after the node binary) of a `serve` the bench starts: the deployed flags, then `nodeArgs`.
 * @param {readonly string[]} [nodeArgs]
 */
export function serveArgv(nodeArgs = []) {
  return [...SERVE_NODE_ARGS, ...nodeArgs, path.join(REPO_ROOT, 'dist/cli/main.js'), 'serve']
}

/**
 * Fork options of a Node child that stands in for `serve` (load/esl-serve.ts): the deployed
 * flags as its execArgv, SERVE_ENV under the bench's environment, then `env`.
 * @param {Record<string, string>} env
 * @returns {{ execArgv: string[], env: NodeJS.ProcessEnv }}
 */
export function asDeployed(env) {
  return { execArgv: [...SERVE_NODE_ARGS], env: { ...SERVE_ENV, ...process.env, ...env } }
}

/** nginx's binary, when installed (Debian: nginx-light). */
export const NGINX = ['/usr/sbin/nginx', '/usr/bin/nginx'].find((p) => existsSync(p))

/**
 * nginx on the http-level tuning of a static file server — sendfile, no access log, keep-alive
 * without a request cap, `workers` worker processes (1 = one event loop, like our `serve`) — with
 * `server` lines inside its http block. Config, pid, logs and temp directories live in `workDir`.
 * @param {{ workDir: string, workers?: number }} options
 * @param {string[]} server
 * @returns {Child}
 */
function startTunedNginx(options, server) {
  if (NGINX === undefined) throw new Error('nginx is not installed (apt-get install nginx-light)')
  const conf = path.join(options.workDir, 'nginx.conf')
  const running = typeof process.getuid === 'function' && process.getuid() === 0
  writeFileSync(
    conf,
    [
      running ? 'user root;' : '',
      `worker_processes ${options.workers ?? 1};`,
      'daemon off;',
      `pid ${path.join(options.workDir, 'nginx.pid')};`,
      `error_log ${path.join(options.workDir, 'error.log')} warn;`,
      'events { worker_connections 4096; }',
      'http {',
      '  access_log off; sendfile on; tcp_nopush on; tcp_nodelay on;',
      '  keepalive_requests 1000000; keepalive_timeout 60s;',
      ...['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((kind) => `  ${kind}_temp_path ${path.join(options.workDir, kind)};`),
      ...server.map((line) => `  ${line}`),
      '}',
      '',
    ].join('\n'),
  )
  return startChild(NGINX, ['-c', conf, '-p', options.workDir])
}

/**
 * nginx serving `root` on 127.0.0.1:`port` the way a static file server is tuned (the bare
 * baseline: one `location /`, nothing else per request).
 * @param {{ root: string, port: number, workDir: string, workers?: number }} options
 * @returns {Child}
 */
export function startNginx(options) {
  return startTunedNginx(options, ['types { audio/wav wav; }', `server { listen 127.0.0.1:${options.port}; root ${options.root}; location / { } }`])
}

/**
 * The nginx front of deploy/nginx/ (its template as shipped, the five placeholders filled; its
 * state directory, the remembered lookups, in `workDir`; its lookup server on `lookupPort`) on
 * 127.0.0.1:`port` before our `serve` at `serviceAddr`, with the same http-level tuning as the
 * bare baseline, so the two differ only by what the front does per request.
 * @param {{ cacheDir: string, serviceAddr: string, port: number, lookupPort: number, workDir: string, workers?: number }} options
 * @returns {Child}
 */
export function startNginxFront(options) {
  const template = readFileSync(path.join(REPO_ROOT, 'deploy/nginx/tts-cache.conf.template'), 'utf8')
  const front = template
    .replaceAll('${TTS_CACHE_DIR}', options.cacheDir)
    .replaceAll('${TTS_SERVICE_ADDR}', options.serviceAddr)
    .replaceAll('${TTS_FRONT_LISTEN}', `127.0.0.1:${options.port}`)
    .replaceAll('${TTS_FRONT_LOOKUP_LISTEN}', `127.0.0.1:${options.lookupPort}`)
    .replaceAll('${TTS_FRONT_STATE_DIR}', path.join(options.workDir, 'front-state'))
  mkdirSync(path.join(options.workDir, 'front-state'), { recursive: true })
  writeFileSync(path.join(options.workDir, 'tts-cache.conf'), front)
  return startTunedNginx(options, [`include ${path.join(options.workDir, 'tts-cache.conf')};`])
}

/**
 * Polls `url` (/readyz) until its `index` check no longer says it is scanning (the whole index
 * is loaded); bounded at 300 s and by `signal`. Returns when it saw that and the check's detail.
 * @param {string} url
 * @param {{ signal?: AbortSignal, pollMs?: number }} [options]
 * @returns {Promise<{ at: number, detail: string }>}
 */
export async function waitForIndex(url, options = {}) {
  const deadline = Date.now() + 300_000
  while (Date.now() < deadline && options.signal?.aborted !== true) {
    const res = await fetch(url, { signal: AbortSignal.timeout(5000) }).catch(() => undefined)
    const body = res === undefined ? undefined : await res.json().catch(() => undefined)
    const detail = body?.checks?.index?.detail
    if (typeof detail === 'string' && !detail.startsWith('scanning')) return { at: performance.now(), detail }
    await new Promise((resolve) => setTimeout(resolve, options.pollMs ?? 250))
  }
  throw new Error(options.signal?.aborted === true ? 'stopped waiting for the index: the scenario was aborted' : 'the index did not finish within 300 s')
}
