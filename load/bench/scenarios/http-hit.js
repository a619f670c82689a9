// @ts-check
/**
 * HTTP hit throughput: our GET /v1/tts (a cached phrase) and GET /v1/audio/<key>.wav (`serve`
 * started from the CLI as deployed, at its default info log level) vs nginx (sendfile, one worker:
 * one event loop, like ours) — and, with BENCH_HTTP_STATIC=1, a minimal Fastify + @fastify/static
 * app — serving the same WAV file, at 64 and 256 connections, all as child processes on 127.0.0.1.
 *
 * Method (issue 19): rounds INTERLEAVED — ours, nginx, ours, nginx… (the order rotates each round),
 * ≥ 5 rounds of 10 s per target and level with wrk, one thread; each round of ours is paired with
 * the nginx round next to it, and the table reports the MEDIAN of those per-round ratios with
 * their spread (min–max), never the best or worst round. Requests over 1 s are counted (wrk's
 * latency histogram, done() in over-1s.lua), and the load average is recorded around each level.
 * wrk corrects its histogram for coordinated omission before done() sees it: an answer that took
 * W adds a sample every (run time ÷ requests per connection) below W, so a few stalled answers
 * count many times in p99 and the over-1 s count; the slowest answer is a real one. wrk opens its
 * connections as a round starts, so their wait to be accepted is in the first answers' latency.
 *
 * Layout, for more targets (e.g. an nginx front): `startTargets` builds the map of name → URL,
 * `interleavedRounds` runs any such map, `ratioRows` compares any two names of it.
 */
import { execFile } from 'node:child_process'
import { existsSync, readdirSync, writeFileSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { promisify } from 'node:util'
import path from 'node:path'
// @ts-ignore autocannon ships no type declarations
import autocannon from 'autocannon'
import { monotonicUs, profileMarkdown, summarizeNewestProfile } from '../lib/cpu-profile.js'
import { freePort, NGINX, SERVE_ENV, SERVE_NODE_ARGS, startChild, startNginx, startNginxFront, startServe, waitForHttp } from '../lib/servers.js'
import { fmtInt, fmtMs, fmtSpread, fmtTimes, fmtTimesNear, loadAverage1m, spreadOf } from '../lib/stats.js'
import { subDir } from './context.js'

const run = promisify(execFile)

/** Ours ≥ this × nginx's requests/s, and our p99 ≤ HTTP_P99_RATIO × nginx's, at every level (medians of the per-round ratios). */
export const HTTP_GOAL_RATIO = 0.5
export const HTTP_P99_RATIO = 3
/** No request of ours may take longer than this (ms). */
export const HTTP_MAX_LATENCY_MS = 1000
const TOKEN = 'bench-token-not-secret'
const TEXT = 'Thank you for calling. All of our agents are busy right now; please stay on the line and your call will be answered in turn.'

/** Through the nginx front (deploy/nginx/): its /v1/audio hits ≥ this × bare nginx's requests/s on the same file… */
export const FRONT_AUDIO_GOAL_RATIO = 0.9
/** …and its /v1/tts hits (our lookup, then X-Accel-Redirect) ≥ this × bare nginx's. */
export const FRONT_TTS_GOAL_RATIO = 0.7
/** TTS_HTTP_ACCEL_REDIRECT for ours: the shipped front's internal location. */
const FRONT_ACCEL_PREFIX = '/_tts_cache/'
/** The front's targets: GET /v1/audio/<key>.wav (nginx alone) and GET /v1/tts (ours, then nginx). */
const FRONT_TARGETS = Object.freeze({ audio: 'front /v1/audio', tts: 'front /v1/tts' })

/**
 * @param {string} dir
 * @returns {string | undefined}
 */
function findWav(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile() && entry.name.endsWith('.wav') && !entry.name.includes('.tmp.')) return path.join(entry.parentPath, entry.name)
  }
  return undefined
}

/** wrk (C, epoll) when installed: autocannon (Node) tops out near 100 MiB/s of responses here,
 * far below what nginx serves, so with it every server measures the client instead. */
export const WRK = ['/usr/bin/wrk', '/usr/local/bin/wrk'].find((p) => existsSync(p))

/**
 * One load run. `over1s`: requests that took longer than HTTP_MAX_LATENCY_MS (NaN when unknown).
 * @typedef {{ rps: number, p50: number, p99: number, maxMs: number, over1s: number, bytesPerSecond: number, non2xx: number, errors: number, total: number }} LoadRun
 */

/**
 * @typedef {{ url: string, headers?: Record<string, string>, label: string }} Target
 */

/**
 * @param {string} url
 * @param {{ connections: number, duration: number, headers?: Record<string, string>, script?: string }} options
 * @returns {Promise<LoadRun>}
 */
export async function cannon(url, options) {
  if (WRK !== undefined) return wrk(url, options)
  const result = await autocannon({ url, connections: options.connections, duration: options.duration, pipelining: 1, headers: options.headers ?? {} })
  return {
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    maxMs: result.latency.max,
    over1s: Number.NaN,
    bytesPerSecond: result.throughput.average,
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
    total: result.requests.total,
  }
}

/** wrk's text units → ms / bytes. */
const MS_PER = /** @type {Record<string, number>} */ ({ us: 0.001, ms: 1, s: 1000, m: 60_000 })
const BYTES_PER = /** @type {Record<string, number>} */ ({ B: 1, KB: 1024, MB: 1024 ** 2, GB: 1024 ** 3 })

/**
 * A wrk script whose done() prints how many requests took longer than `limitMs` (binary search
 * on the latency histogram's percentiles: exact to a request) and the slowest one.
 * @param {string} dir
 * @param {number} limitMs
 */
export function writeOverLimitScript(dir, limitMs) {
  const file = path.join(dir, 'over-limit.lua')
  writeFileSync(
    file,
    [
      'done = function(summary, latency, requests)',
      `  local limit = ${Math.round(limitMs * 1000)}`,
      '  local over = 0',
      '  if latency.max > limit then',
      '    local lo, hi = 0, 100',
      '    for i = 1, 48 do',
      '      local mid = (lo + hi) / 2',
      '      if latency:percentile(mid) > limit then hi = mid else lo = mid end',
      '    end',
      '    over = math.floor((100 - hi) / 100 * summary.requests + 0.5)',
      '    if over < 1 then over = 1 end',
      '  end',
      '  io.write(string.format("OVER_LIMIT %d\\nMAX_US %d\\n", over, latency.max))',
      'end',
      '',
    ].join('\n'),
  )
  return file
}

/**
 * One wrk run: one thread (the other core is the server's), --latency for the percentiles.
 * @param {string} url
 * @param {{ connections: number, duration: number, headers?: Record<string, string>, script?: string }} options
 * @returns {Promise<LoadRun>}
 */
async function wrk(url, options) {
  const args = ['-t1', `-c${options.connections}`, `-d${options.duration}s`, '--latency', '--timeout', '10s']
  if (options.script !== undefined) args.push('-s', options.script)
  for (const [name, value] of Object.entries(options.headers ?? {})) args.push('-H', `${name}: ${value}`)
  const { stdout } = await run(/** @type {string} */ (WRK), [...args, url], { encoding: 'utf8', timeout: (options.duration + 30) * 1000 })
  const ms = (/** @type {RegExp} */ re) => {
    const m = re.exec(stdout)
    return m === null ? NaN : Number(m[1]) * (MS_PER[m[2] ?? 'ms'] ?? NaN)
  }
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(stdout)?.[1] ?? NaN)
  const transfer = /Transfer\/sec:\s+([\d.]+)(B|KB|MB|GB)/.exec(stdout)
  const total = Number(/(\d+) requests in/.exec(stdout)?.[1] ?? 0)
  const socketErrors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(stdout)
  const over = /OVER_LIMIT (\d+)/.exec(stdout)
  const maxUs = /MAX_US (\d+)/.exec(stdout)
  return {
    rps,
    p50: ms(/\s50%\s+([\d.]+)(us|ms|s|m)\b/),
    p99: ms(/\s99%\s+([\d.]+)(us|ms|s|m)\b/),
    maxMs: maxUs === null ? NaN : Number(maxUs[1]) / 1000,
    over1s: over === null ? NaN : Number(over[1]),
    bytesPerSecond: transfer === null ? NaN : Number(transfer[1]) * (BYTES_PER[transfer[2] ?? 'B'] ?? NaN),
    non2xx: Number(/Non-2xx or 3xx responses: (\d+)/.exec(stdout)?.[1] ?? 0),
    errors: socketErrors === null ? 0 : socketErrors.slice(1).reduce((a, b) => a + Number(b), 0),
    total,
  }
}

/**
 * @typedef {object} HitTargets
 * @property {Record<string, Target>} targets name → what to load (ours-tts, ours-audio, nginx; static with BENCH_HTTP_STATIC=1)
 * @property {() => Promise<void>} stop
 * @property {number} wavBytes
 * @property {string} cacheHeader X-TTS-Cache of a repeated GET /v1/tts
 * @property {string} wavPath the cached WAV every target serves
 * @property {Record<string, string>} env our server's environment (for a profiled rerun)
 */

/**
 * Our `serve` with one cached phrase, and the baselines serving its WAV's directory.
 * @param {import('./context.js').ScenarioContext} ctx
 * @returns {Promise<HitTargets>}
 */
export async function startTargets(ctx) {
  const cacheDir = subDir(ctx, 'cache')
  const oursPort = await freePort()
  const env = {
    TTS_CACHE_DIR: cacheDir,
    TTS_HTTP_HOST: '127.0.0.1',
    TTS_HTTP_PORT: String(oursPort),
    TTS_ESL_ENABLED: 'false',
    TTS_API_TOKEN: TOKEN,
    // As deployed: the default level, so a log line per request would show here.
    TTS_LOG_LEVEL: 'info',
    // Only requests through the front ask for it (X-TTS-Accel): the direct rows are unchanged.
    TTS_HTTP_ACCEL_REDIRECT: FRONT_ACCEL_PREFIX,
  }
  const headers = { authorization: `Bearer ${TOKEN}` }
  /** @type {import('../lib/servers.js').Child[]} */
  const children = [startServe({ env })]
  const stop = async () => {
    for (const child of children.reverse()) await child.stop()
  }
  try {
    const ours = /** @type {import('../lib/servers.js').Child} */ (children[0])
    const oursUrl = `http://127.0.0.1:${oursPort}/v1/tts?text=${encodeURIComponent(TEXT)}`
    await waitForHttp(`http://127.0.0.1:${oursPort}/healthz`, ours)
    // A 503 right after start (under pressure: start-up work on a loaded box) says come back.
    let first = await fetch(oursUrl, { headers })
    for (let attempt = 0; first.status === 503 && attempt < 20; attempt++) {
      await first.arrayBuffer()
      await new Promise((resolve) => setTimeout(resolve, 1000))
      first = await fetch(oursUrl, { headers })
    }
    const body = await first.arrayBuffer()
    const wavBytes = body.byteLength
    if (first.status !== 200) throw new Error(`GET /v1/tts answered ${first.status}: ${Buffer.from(body).toString('utf8').slice(0, 300)}`)
    const second = await fetch(oursUrl, { headers })
    await second.arrayBuffer()
    const cacheHeader = second.headers.get('x-tts-cache') ?? '(none)'
    const wav = findWav(cacheDir)
    if (wav === undefined) throw new Error(`no WAV in ${cacheDir} after a render`)
    /** @type {Record<string, Target>} */
    const targets = {
      'ours-tts': { url: oursUrl, headers, label: 'ours GET /v1/tts (hit)' },
      'ours-audio': { url: `http://127.0.0.1:${oursPort}/v1/audio/${path.basename(wav)}`, headers, label: 'ours GET /v1/audio/<key>.wav' },
    }
    if (NGINX !== undefined) {
      const nginxPort = await freePort()
      const nginx = startNginx({ root: path.dirname(wav), port: nginxPort, workDir: subDir(ctx, 'nginx') })
      children.push(nginx)
      targets['nginx'] = { url: `http://127.0.0.1:${nginxPort}/${path.basename(wav)}`, label: 'nginx (sendfile, 1 worker)' }
      await waitForHttp(targets['nginx'].url, nginx)
      Object.assign(targets, await startFrontTargets(ctx, { cacheDir, oursPort, wav, ttsPath: new URL(oursUrl).search, headers, children }))
    }
    if (process.env['BENCH_HTTP_STATIC'] === '1') {
      // Context, not a goal (issue 19 measured it at 2.1k req/s): off by default to keep the run short.
      const staticPort = await freePort()
      const staticServer = startChild(process.execPath, [path.join(ctx.repoRoot, 'load/bench/child/static-server.js'), path.dirname(wav), String(staticPort)])
      children.push(staticServer)
      targets['static'] = { url: `http://127.0.0.1:${staticPort}/${path.basename(wav)}`, label: '@fastify/static' }
      await waitForHttp(targets['static'].url, staticServer)
    }
    return { targets, stop, wavBytes, cacheHeader, wavPath: wav, env }
  } catch (err) {
    await stop()
    throw err
  }
}

/**
 * @typedef {object} RoundsPlan
 * @property {number[]} levels connections
 * @property {number} rounds per target and level
 * @property {number} seconds per round
 */

/**
 * @typedef {object} LevelRuns
 * @property {Record<string, LoadRun[]>} runs name → one run per round, in round order
 * @property {number} loadBefore 1-minute load average before the level's first round
 * @property {number} loadAfter and after its last
 */

/**
 * Interleaved rounds: for each level, a 2 s warm-up of every target, then `rounds` rounds in
 * which every target runs once (the order rotates each round so drift in the machine's
 * background load hits all alike).
 * @param {import('./context.js').ScenarioContext} ctx
 * @param {Record<string, Target>} targets
 * @param {RoundsPlan} plan
 * @returns {Promise<Record<number, LevelRuns>>}
 */
export async function interleavedRounds(ctx, targets, plan) {
  const script = WRK === undefined ? undefined : writeOverLimitScript(subDir(ctx, 'wrk'), HTTP_MAX_LATENCY_MS)
  const names = Object.keys(targets)
  /** @type {Record<number, LevelRuns>} */
  const byLevel = {}
  for (const connections of plan.levels) {
    // Each level opens new connections: warm every server up at that level first (the first
    // seconds after a burst of connects on this 2-core box carry TCP retransmits and JIT work).
    for (const [name, target] of Object.entries(targets)) {
      ctx.progress(`${connections} connections: warm-up ${name}`)
      await cannon(target.url, { connections, duration: ctx.quick ? 1 : 2, headers: target.headers })
    }
    /** @type {LevelRuns} */
    const level = { runs: Object.fromEntries(names.map((n) => [n, []])), loadBefore: loadAverage1m(), loadAfter: Number.NaN }
    for (let round = 0; round < plan.rounds && !ctx.signal.aborted; round++) {
      const order = names.map((_, i) => names[(i + round) % names.length] ?? '')
      for (const name of order) {
        const target = targets[name]
        if (target === undefined) continue
        ctx.progress(`${connections} connections, round ${round + 1}/${plan.rounds}: ${name}, ${plan.seconds} s (load ${loadAverage1m().toFixed(1)})`)
        const options = { connections, duration: plan.seconds, headers: target.headers }
        level.runs[name]?.push(await cannon(target.url, script === undefined ? options : { ...options, script }))
      }
    }
    level.loadAfter = loadAverage1m()
    byLevel[connections] = level
  }
  return byLevel
}

/**
 * The per-round ratios of `ours` to `base` (round i of one against round i of the other).
 * @param {LevelRuns} level
 * @param {string} ours
 * @param {string} base
 */
export function pairedRatios(level, ours, base) {
  const a = level.runs[ours] ?? []
  const b = level.runs[base] ?? []
  const n = Math.min(a.length, b.length)
  const pairs = Array.from({ length: n }, (_, i) => /** @type {[LoadRun, LoadRun]} */ ([a[i], b[i]]))
  return {
    rps: spreadOf(pairs.map(([x, y]) => x.rps / y.rps)),
    p99: spreadOf(pairs.map(([x, y]) => x.p99 / y.p99)),
  }
}

/**
 * One table per level: every target's median (min–max) requests/s, p99, max and requests over
 * 1 s, then the per-round ratios of each of `ours` to `base`.
 * @param {Record<string, Target>} targets
 * @param {Record<number, LevelRuns>} byLevel
 * @param {{ ours: string[], base: string, seconds: number }} compare
 * @returns {import('../lib/report.js').Table[]}
 */
export function levelTables(targets, byLevel, compare) {
  const names = Object.keys(targets)
  const sum = (/** @type {number[]} */ xs) => xs.reduce((x, y) => x + y, 0)
  return Object.entries(byLevel).map(([connections, level]) => {
    const col = (/** @type {(runs: LoadRun[]) => string} */ f) => names.map((n) => f(level.runs[n] ?? []))
    const rows = [
      ['requests/s', ...col((r) => fmtSpread(spreadOf(r.map((x) => x.rps)), fmtInt))],
      ['latency p50', ...col((r) => fmtSpread(spreadOf(r.map((x) => x.p50)), fmtMs))],
      ['latency p99', ...col((r) => fmtSpread(spreadOf(r.map((x) => x.p99)), fmtMs))],
      ['slowest request', ...col((r) => fmtMs(Math.max(...r.map((x) => x.maxMs))))],
      [`requests over ${fmtMs(HTTP_MAX_LATENCY_MS)}`, ...col((r) => `${fmtInt(sum(r.map((x) => x.over1s)))} of ${fmtInt(sum(r.map((x) => x.total)))}`)],
      ['throughput MiB/s', ...col((r) => fmtSpread(spreadOf(r.map((x) => x.bytesPerSecond / 1024 ** 2)), (v) => v.toFixed(0)))],
      ['non-2xx + errors', ...col((r) => fmtInt(sum(r.map((x) => x.non2xx + x.errors))))],
    ]
    for (const ours of compare.ours) {
      if (level.runs[ours] === undefined || level.runs[compare.base] === undefined) continue
      const ratios = pairedRatios(level, ours, compare.base)
      rows.push([`${ours} / ${compare.base} requests/s (per-round ratios)`, ...names.map((n) => (n === ours ? fmtSpread(ratios.rps, fmtTimes) : ''))])
      rows.push([`${ours} / ${compare.base} p99 (per-round ratios)`, ...names.map((n) => (n === ours ? fmtSpread(ratios.p99, fmtTimes) : ''))])
    }
    const rounds = Math.max(0, ...Object.values(level.runs).map((r) => r.length))
    return {
      caption: `${connections} connections — ${rounds} interleaved rounds × ${compare.seconds} s per target; median (min–max) over rounds; load average ${level.loadBefore.toFixed(1)} before, ${level.loadAfter.toFixed(1)} after`,
      headers: ['metric', ...names.map((n) => targets[n]?.label ?? n)],
      rows,
    }
  })
}

/**
 * The goals of issue 19 (1): for each of `ours` at each level, the median per-round ratio of
 * requests/s and of p99 to nginx, and no request over 1 s.
 * @param {Record<number, LevelRuns>} byLevel
 * @param {string[]} ours
 * @returns {import('../lib/report.js').Goal[]}
 */
export function hitGoals(byLevel, ours) {
  /** @type {import('../lib/report.js').Goal[]} */
  const goals = []
  for (const [connections, level] of Object.entries(byLevel)) {
    for (const name of ours) {
      const runs = level.runs[name] ?? []
      if (runs.length === 0) continue
      const hasNginx = (level.runs['nginx'] ?? []).length > 0
      const ratios = hasNginx ? pairedRatios(level, name, 'nginx') : undefined
      goals.push({
        name: `${name} requests/s vs nginx, ${connections} connections (median of per-round ratios)`,
        target: `≥ ${HTTP_GOAL_RATIO}×`,
        value: ratios === undefined ? 'no nginx' : fmtSpread(ratios.rps, fmtTimesNear(HTTP_GOAL_RATIO)),
        met: ratios === undefined ? undefined : ratios.rps.median >= HTTP_GOAL_RATIO,
        why: 'the body is copied into the socket per response (writev; nginx uses sendfile), and node:http parses every request and the hit listener looks it up (the index, a stat per file per event-loop turn, the metrics) in one event loop: see the profile.',
      })
      goals.push({
        name: `${name} p99 vs nginx, ${connections} connections (median of per-round ratios)`,
        target: `≤ ${HTTP_P99_RATIO}×`,
        value: ratios === undefined ? 'no nginx' : fmtSpread(ratios.p99, fmtTimesNear(HTTP_P99_RATIO)),
        met: ratios === undefined ? undefined : ratios.p99.median <= HTTP_P99_RATIO,
        why: 'at a fixed number of connections latency is queueing: it follows requests/s.',
      })
      const over = runs.reduce((a, r) => a + r.over1s, 0)
      goals.push({
        name: `${name} requests over ${fmtMs(HTTP_MAX_LATENCY_MS)}, ${connections} connections (all rounds)`,
        target: '= 0',
        value: Number.isNaN(over) ? 'not measured (wrk missing)' : `${fmtInt(over)} (slowest ${fmtMs(Math.max(...runs.map((r) => r.maxMs)))})`,
        met: Number.isNaN(over) ? undefined : over === 0,
        why: 'a request waited over a second: queueing behind the event loop on a loaded box (the load average is in the table).',
      })
    }
  }
  return goals
}

/**
 * Starts the nginx front before our `serve` and checks, once, that each front target is what its
 * row says: /v1/audio answered by nginx alone (our X-TTS-Cache: hit from the front's own headers,
 * the file's bytes) and /v1/tts handed over by X-Accel-Redirect (the same bytes, our headers).
 * Its targets join the scenario's, so they run in the same interleaved rounds.
 * @param {import('./context.js').ScenarioContext} ctx
 * @param {{ cacheDir: string, oursPort: number, wav: string, ttsPath: string, headers: Record<string, string>, children: import('../lib/servers.js').Child[] }} options
 * @returns {Promise<Record<string, Target>>}
 */
async function startFrontTargets(ctx, options) {
  const port = await freePort()
  const front = startNginxFront({ cacheDir: options.cacheDir, serviceAddr: `127.0.0.1:${options.oursPort}`, port, lookupPort: await freePort(), workDir: subDir(ctx, 'nginx-front') })
  options.children.push(front)
  const base = `http://127.0.0.1:${port}`
  const key = path.basename(options.wav, '.wav')
  /** @type {Record<string, Target>} */
  const targets = {
    [FRONT_TARGETS.audio]: { url: `${base}/v1/audio/${key}.wav`, label: 'front /v1/audio (nginx alone)' },
    // No token: /v1/tts does not need one (TTS_AUTH_ALL_ROUTES unset), and the front asks the service
    // every time for a request that carries one; without it, it remembers the lookup (X-Accel-Expires).
    [FRONT_TARGETS.tts]: { url: `${base}/v1/tts${options.ttsPath}`, label: 'front /v1/tts (remembered lookup read by a subrequest, then the file)' },
  }
  await waitForHttp(`${base}/v1/audio/${key}.wav`, front)
  const file = await readFile(options.wav)
  for (const [which, target] of Object.entries(targets)) {
    const res = await fetch(target.url, { headers: target.headers ?? {} })
    const bytes = Buffer.from(await res.arrayBuffer())
    // X-Request-Id: /v1/audio is answered by nginx alone (none); the /v1/tts locations (remembered
    // answer, X-Accel-Redirect) always add one (nginx's own when the lookup was remembered).
    const reachedOurs = res.headers.get('x-request-id') !== null
    if (res.status !== 200 || !bytes.equals(file) || res.headers.get('x-tts-cache') !== 'hit' || reachedOurs !== (which === FRONT_TARGETS.tts)) {
      throw new Error(`nginx front: ${target.url} answered ${res.status} (${bytes.length} bytes, X-TTS-Cache ${res.headers.get('x-tts-cache')}, X-Request-Id ${res.headers.get('x-request-id')}), not as its row says`)
    }
  }
  return targets
}

/**
 * The front's goals (issue 19 (2)): each front target's median per-round requests/s ratio to bare
 * nginx serving the same file, in the same interleaved rounds.
 * @param {Record<number, LevelRuns>} byLevel
 * @returns {import('../lib/report.js').Goal[]}
 */
export function frontGoals(byLevel) {
  /** @type {import('../lib/report.js').Goal[]} */
  const goals = []
  const rows = /** @type {const} */ ([
    [FRONT_TARGETS.audio, FRONT_AUDIO_GOAL_RATIO, 'nginx alone: a regex location, the If-None-Match map, try_files (one stat), the same sendfile'],
    [FRONT_TARGETS.tts, FRONT_TTS_GOAL_RATIO, 'a second nginx server remembers our /v1/tts answer (proxy_cache, X-Accel-Expires 30 s; our full lookup once per query per 30 s), then the X-Accel-Redirect location: try_files (one stat), the same sendfile'],
  ])
  for (const [connections, level] of Object.entries(byLevel)) {
    for (const [name, goal, why] of rows) {
      const has = (level.runs[name] ?? []).length > 0 && (level.runs['nginx'] ?? []).length > 0
      const ratios = has ? pairedRatios(level, name, 'nginx') : undefined
      goals.push({
        name: `${name} hit requests/s vs bare nginx, ${connections} connections (median of per-round ratios)`,
        target: `≥ ${goal}×`,
        value: ratios === undefined ? 'no nginx' : fmtSpread(ratios.rps, fmtTimesNear(goal)),
        met: ratios === undefined ? undefined : ratios.rps.median >= goal,
        why,
      })
    }
  }
  return goals
}

/**
 * A CPU profile of our server under the same load (what RESULTS.md shows when a goal is missed).
 * @param {import('./context.js').ScenarioContext} ctx
 * @param {Record<string, string>} env
 * @param {number} connections
 * @param {number} seconds
 */
async function profileOurs(ctx, env, connections, seconds) {
  const profDir = subDir(ctx, 'cpu-prof')
  const port = await freePort()
  const ours = startServe({ env: { ...env, TTS_HTTP_PORT: String(port) }, nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${profDir}`] })
  const window = { fromUs: 0, toUs: 0 }
  const headers = { authorization: `Bearer ${TOKEN}` }
  try {
    await waitForHttp(`http://127.0.0.1:${port}/healthz`, ours)
    const url = `http://127.0.0.1:${port}/v1/tts?text=${encodeURIComponent(TEXT)}`
    await cannon(url, { connections, duration: 1, headers })
    window.fromUs = monotonicUs()
    await cannon(url, { connections, duration: seconds, headers })
    window.toUs = monotonicUs()
  } finally {
    await ours.stop()
  }
  try {
    return profileMarkdown(await summarizeNewestProfile(profDir, 20, window), `our server during ${seconds} s of GET /v1/tts hits at ${connections} connections (start-up and warm-up left out)`)
  } catch (err) {
    return `(no CPU profile: ${String(err)})`
  }
}

/** Rounds and seconds per round: BENCH_HTTP_ROUNDS / BENCH_HTTP_SECONDS override (≥ 5 rounds count as the method). */
function plan(/** @type {boolean} */ quick) {
  const rounds = Number(process.env['BENCH_HTTP_ROUNDS'] ?? (quick ? 1 : 5))
  const seconds = Number(process.env['BENCH_HTTP_SECONDS'] ?? (quick ? 1 : 10))
  return { levels: quick ? [4] : [64, 256], rounds, seconds }
}

/**
 * @param {import('./context.js').ScenarioContext} ctx
 * @returns {Promise<import('../lib/report.js').Section>}
 */
export async function httpHit(ctx) {
  const { levels, rounds, seconds } = plan(ctx.quick)
  const started = await startTargets(ctx)
  /** @type {Record<number, LevelRuns>} */
  let byLevel = {}
  try {
    ctx.progress('warm-up (JIT, connections)')
    for (const target of Object.values(started.targets)) await cannon(target.url, { connections: levels[0] ?? 4, duration: 1, headers: target.headers })
    byLevel = await interleavedRounds(ctx, started.targets, { levels, rounds, seconds })
  } finally {
    await started.stop()
  }
  const ours = ['ours-tts', 'ours-audio']
  const goals = hitGoals(byLevel, ours)
  const front = Object.values(FRONT_TARGETS).filter((name) => started.targets[name] !== undefined)
  const profiles = []
  if (goals.some((g) => g.met === false) && !ctx.quick && !ctx.signal.aborted) {
    ctx.progress('HTTP goal missed: profiling our server under the same load')
    profiles.push(await profileOurs(ctx, started.env, levels[0] ?? 64, Math.min(seconds, 5)))
  }
  return {
    id: 'http-hit',
    title: 'HTTP hit throughput: GET /v1/tts and /v1/audio vs nginx',
    description:
      `${WRK === undefined ? 'autocannon (wrk not installed: the client may be the limit; requests over 1 s not counted)' : 'wrk, one thread,'} at ${levels.join(' and ')} connections: ` +
      `${rounds} interleaved rounds of ${seconds} s per target and level (every target once per round, the order rotating), after a 2 s warm-up of each at that level. ` +
      'Each cell is the median over the rounds with the min–max in brackets; a ratio is the median of the per-round ratios (round i of ours over round i of nginx), never the best or worst round. ' +
      `The same ${fmtInt(started.wavBytes)}-byte WAV (our cached file; the baselines serve its directory). Ours: ` +
      `\`node ${SERVE_NODE_ARGS.join(' ')} dist/cli/main.js serve\` (as deployed: its V8 flags and ${Object.keys(SERVE_ENV).join(', ')}; HTTP only, info log level, bearer token sent), GET /v1/tts answered X-TTS-Cache: ${started.cacheHeader}. ` +
      `nginx: sendfile, access_log off, one worker process${NGINX === undefined ? ' (NOT INSTALLED: apt-get install nginx-light)' : ''}. ` +
      `The nginx front: deploy/nginx/tts-cache.conf.template as shipped, with the same http-level tuning and one worker, before the same \`serve\` (TTS_HTTP_ACCEL_REDIRECT=${FRONT_ACCEL_PREFIX}): ` +
      'GET /v1/audio/<key>.wav is nginx alone; GET /v1/tts is our lookup answered with X-Accel-Redirect and X-Accel-Expires (30 s), which the front remembers: within that time nginx reads the remembered answer (a subrequest, no socket) and sends the file, and once it expires the next request asks our lookup again (each target checked once before the runs). ' +
      'p99 and "requests over 1 s" are read from wrk\'s histogram after its coordinated-omission correction (an answer that took W also counts once per interval of run time ÷ requests per connection below W: a few stalled answers count many times); "slowest" is a real answer. Each round opens its connections as it starts, so the wait to be accepted is part of the first answers. ' +
      'All servers and the load generator share the machine\'s 2 cores (server and generator one each), with whatever else runs on it (the load average is in each caption).',
    tables: levelTables(started.targets, byLevel, { ours: [...ours, ...front], base: 'nginx', seconds }),
    goals: [...goals, ...frontGoals(byLevel)],
    profiles,
    raw: { byLevel, wavBytes: started.wavBytes, rounds, seconds },
  }
}
