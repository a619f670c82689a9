// @ts-check
/**
 * A real k6, when one is found: `K6_BIN` (a path) or `k6` on PATH. runRealK6 runs
 * `k6 run --summary-export <file> -e BASE_URL=… -e TTS_API_TOKEN=… load/k6/mixed.ts` against a
 * fresh `serve` started exactly as the Node stand-in starts it (k6-mixed-run.js), with the same
 * RSS sampling from /proc around it, and returns k6's own summary export. Every child is
 * started with execFile and an argv array (no shell), bounded by a timeout.
 */
import { execFile } from 'node:child_process'
import { accessSync, constants, existsSync, readFileSync, statSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import { monotonicUs } from './cpu-profile.js'
import { MIXED_TOKEN } from './k6-mixed-run.js'
import { MIXED_SCRIPT } from './k6-mixed-settings.js'
import { parseK6Summary } from './k6-summary.js'
import { REPO_ROOT } from './ours.js'
import { freePort, sampleRssFromSpawn, SERVE_NODE_ARGS, startServe, waitForHttp } from './servers.js'

/** `k6 version` must answer within this. */
const VERSION_TIMEOUT_MS = 10_000
/** What k6 logs (console.log in mixed.ts's setup()) when its pre-warm is done: the load starts. */
export const SETUP_DONE_MARK = 'pre-warmed the top'

/**
 * @typedef {{ found: true, bin: string, version: string } | { found: false, reason: string }} K6Lookup
 */

/** @param {string} file */
function isExecutableFile(file) {
  try {
    accessSync(file, constants.X_OK)
    return statSync(file).isFile()
  } catch {
    return false
  }
}

/**
 * Where k6 is: `K6_BIN` when set (it must be an executable file: a wrong K6_BIN is reported,
 * not silently replaced by another k6), else the first `k6` on PATH. Then `k6 version`.
 * @param {NodeJS.ProcessEnv} [env]
 * @returns {Promise<K6Lookup>}
 */
export async function findK6(env = process.env) {
  let bin
  if (env.K6_BIN !== undefined && env.K6_BIN !== '') {
    if (!isExecutableFile(env.K6_BIN)) return { found: false, reason: `K6_BIN=${env.K6_BIN} is not an executable file` }
    bin = env.K6_BIN
  } else {
    bin = (env.PATH ?? '').split(path.delimiter).filter((d) => d !== '').map((d) => path.join(d, 'k6')).find(isExecutableFile)
    if (bin === undefined) return { found: false, reason: 'K6_BIN is unset and there is no k6 on PATH' }
  }
  try {
    const { stdout } = await promisify(execFile)(bin, ['version'], { timeout: VERSION_TIMEOUT_MS, killSignal: 'SIGKILL', env })
    const version = /v\d+\.\d+\.\d+\S*/.exec(stdout)?.[0] ?? stdout.trim().split('\n')[0] ?? ''
    return { found: true, bin, version }
  } catch (err) {
    return { found: false, reason: `${bin} version failed: ${String(err).slice(0, 300)}` }
  }
}

/**
 * k6's argv for mixed.ts: the summary export, the service, and any overrides (`-e NAME=value`).
 * @param {{ summaryFile: string, baseUrl: string, token: string, env?: Record<string, string | number>, script?: string }} o
 */
export function k6MixedArgs(o) {
  const overrides = Object.entries(o.env ?? {}).flatMap(([k, v]) => ['-e', `${k}=${v}`])
  return ['run', '--no-usage-report', '--summary-export', o.summaryFile, '-e', `BASE_URL=${o.baseUrl}`, '-e', `TTS_API_TOKEN=${o.token}`, ...overrides, o.script ?? MIXED_SCRIPT]
}

/**
 * The longest a k6 run of mixed.ts may take: its setup timeout (pre-warm + 60 s, as the script
 * sets setupTimeout), the load, the graceful stop, and a minute of start and summary.
 * @param {import('./k6-mixed-settings.js').MixedSettings} s
 */
export function k6MixedTimeoutMs(s) {
  return (s.prewarmTimeoutS + 60 + s.durationS + s.gracefulStopS + 60) * 1000
}

/**
 * Runs k6 (execFile, no shell) and resolves however it exits: k6 exits 99 when a threshold
 * fails, which is a result, not an error. `onStderr` sees k6's log as it comes.
 * @param {string} bin @param {string[]} argv
 * @param {{ timeoutMs: number, signal?: AbortSignal, onStderr?: (chunk: string) => void, env?: NodeJS.ProcessEnv }} o
 * @returns {Promise<{ exitCode: number | null, signal: string | null, stdout: string, stderr: string, error?: string }>}
 */
export function execK6(bin, argv, o) {
  return new Promise((resolve) => {
    const child = execFile(
      bin,
      argv,
      { cwd: REPO_ROOT, timeout: o.timeoutMs, killSignal: 'SIGKILL', maxBuffer: 64 * 1024 * 1024, env: { ...(o.env ?? process.env), K6_NO_USAGE_REPORT: 'true' }, ...(o.signal === undefined ? {} : { signal: o.signal }) },
      (err, stdout, stderr) => {
        const e = /** @type {(Error & { code?: unknown }) | null} */ (err)
        const spawnFailed = e !== null && typeof e.code === 'string' // ENOENT, EACCES, ABORT_ERR
        resolve({
          exitCode: child.exitCode,
          signal: child.signalCode,
          stdout: String(stdout),
          stderr: String(stderr),
          ...(spawnFailed || (e !== null && child.signalCode !== null) ? { error: e?.message ?? 'k6 failed' } : {}),
        })
      },
    )
    if (o.onStderr !== undefined) child.stderr?.on('data', (chunk) => o.onStderr?.(String(chunk)))
  })
}

/**
 * @typedef {object} RealK6Run
 * @property {{ bin: string, version: string, argv: string[], exitCode: number | null, signal: string | null, stderrTail: string }} k6
 * @property {import('./k6-summary.js').K6Summary} summary
 * @property {number} wallS k6's whole run (setup included)
 * @property {number | undefined} setupS until k6 logged its pre-warm done (undefined: not seen)
 * @property {{ start: number[], end: number[] }} load
 * @property {string} metricsBefore the service's /metrics before k6 starts (its setup is in the delta)
 * @property {string} metricsAfter
 * @property {{ fromUs: number, toUs: number }} window k6's load on the profiler's clock (from its pre-warm done, or its start, to its exit)
 * @property {{ t: number, phase: 'start' | 'setup' | 'load', rss: number }[]} memory the service's RSS every second from its spawn
 */

/**
 * @param {{ bin: string, version: string }} k6
 * @param {import('./k6-mixed-settings.js').MixedSettings} s
 * @param {{ cacheDir: string, workDir: string, env?: Record<string, string | number>, nodeArgs?: readonly string[], signal: AbortSignal, progress: (m: string) => void }} options
 *   env: `-e` overrides of mixed.ts's defaults (the quick run's smaller sizes); nodeArgs go after
 *   SERVE_NODE_ARGS (e.g. --cpu-prof)
 * @returns {Promise<RealK6Run>}
 */
export async function runRealK6(k6, s, options) {
  const port = await freePort()
  const base = `http://127.0.0.1:${port}`
  const child = startServe({
    nodeArgs: [...SERVE_NODE_ARGS, ...(options.nodeArgs ?? [])],
    env: { TTS_CACHE_DIR: options.cacheDir, TTS_HTTP_HOST: '127.0.0.1', TTS_HTTP_PORT: String(port), TTS_ESL_ENABLED: 'false', TTS_API_TOKEN: MIXED_TOKEN, TTS_LOG_LEVEL: 'info' },
  })
  const rss = sampleRssFromSpawn(child.pid)
  const memory = rss.memory
  try {
    await waitForHttp(`${base}/readyz`, child)
    const metricsBefore = await (await fetch(`${base}/metrics`)).text()
    const summaryFile = path.join(options.workDir, `k6-summary-${port}.json`)
    const argv = k6MixedArgs({ summaryFile, baseUrl: base, token: MIXED_TOKEN, ...(options.env === undefined ? {} : { env: options.env }) })
    options.progress(`k6 ${k6.version}: ${[k6.bin, ...argv].join(' ')}`)
    const load = { start: os.loadavg(), end: os.loadavg() }
    rss.state.phase = 'setup'
    const began = performance.now()
    const window = { fromUs: monotonicUs(), toUs: 0 }
    /** @type {number | undefined} */
    let setupS
    let tail = '' // the mark may straddle two chunks
    const ran = await execK6(k6.bin, argv, {
      timeoutMs: k6MixedTimeoutMs(s),
      signal: options.signal,
      onStderr: (chunk) => {
        if (setupS !== undefined) return
        tail = (tail + chunk).slice(-(chunk.length + SETUP_DONE_MARK.length))
        if (tail.includes(SETUP_DONE_MARK)) {
          setupS = (performance.now() - began) / 1000
          window.fromUs = monotonicUs()
          rss.state.phase = 'load'
        }
      },
    })
    window.toUs = monotonicUs()
    const wallS = (performance.now() - began) / 1000
    load.end = os.loadavg()
    const metricsAfter = await (await fetch(`${base}/metrics`)).text()
    rss.sample()
    const stderrTail = ran.stderr.slice(-2000)
    if (ran.error !== undefined || !existsSync(summaryFile)) {
      throw new Error(`k6 (${k6.bin}) ended without a summary (exit ${ran.exitCode}, signal ${ran.signal}${ran.error === undefined ? '' : `, ${ran.error}`}):\n${stderrTail}`)
    }
    const summary = parseK6Summary(readFileSync(summaryFile, 'utf8'))
    return { k6: { ...k6, argv, exitCode: ran.exitCode, signal: ran.signal, stderrTail }, summary, wallS, setupS, load, metricsBefore, metricsAfter, window, memory }
  } finally {
    rss.stop()
    await child.stop()
  }
}
