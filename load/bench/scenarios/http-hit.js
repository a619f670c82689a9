// @ts-check
/**
 * HTTP hit throughput: autocannon against our GET /v1/tts (a cached phrase; `serve` started
 * from the CLI as deployed, at its default info log level) vs nginx (sendfile, one worker: one
 * event loop, like ours) and a minimal Fastify + @fastify/static app serving the same WAV file,
 * at 64 and 256 connections, all as child processes on 127.0.0.1.
 */
import { execFile } from 'node:child_process'
import { existsSync, readdirSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { promisify } from 'node:util'
import path from 'node:path'
// @ts-ignore autocannon ships no type declarations
import autocannon from 'autocannon'
import { monotonicUs, profileMarkdown, summarizeNewestProfile } from '../lib/cpu-profile.js'
import { freePort, NGINX, startChild, startNginx, startNginxFront, startServe, waitForHttp } from '../lib/servers.js'
import { fmtInt, fmtMs, fmtRatio } from '../lib/stats.js'
import { subDir } from './context.js'

/** Ours ≥ this × nginx's requests/s, and our p99 ≤ HTTP_P99_RATIO × nginx's, at every level. */
const run = promisify(execFile)

export const HTTP_GOAL_RATIO = 0.5
export const HTTP_P99_RATIO = 3
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
 * @typedef {{ rps: number, p50: number, p99: number, bytesPerSecond: number, non2xx: number, errors: number, total: number }} LoadRun
 */

/**
 * @param {string} url
 * @param {{ connections: number, duration: number, headers?: Record<string, string> }} options
 * @returns {Promise<LoadRun>}
 */
async function cannon(url, options) {
  if (WRK !== undefined) return wrk(url, options)
  const result = await autocannon({ url, connections: options.connections, duration: options.duration, pipelining: 1, headers: options.headers ?? {} })
  return {
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
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
 * One wrk run: one thread (the other core is the server's), --latency for the percentiles.
 * @param {string} url
 * @param {{ connections: number, duration: number, headers?: Record<string, string> }} options
 * @returns {Promise<LoadRun>}
 */
async function wrk(url, options) {
  const args = ['-t1', `-c${options.connections}`, `-d${options.duration}s`, '--latency', '--timeout', '10s']
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
  return {
    rps,
    p50: ms(/\s50%\s+([\d.]+)(us|ms|s|m)\b/),
    p99: ms(/\s99%\s+([\d.]+)(us|ms|s|m)\b/),
    bytesPerSecond: transfer === null ? NaN : Number(transfer[1]) * (BYTES_PER[transfer[2] ?? 'B'] ?? NaN),
    non2xx: Number(/Non-2xx or 3xx responses: (\d+)/.exec(stdout)?.[1] ?? 0),
    errors: socketErrors === null ? 0 : socketErrors.slice(1).reduce((a, b) => a + Number(b), 0),
    total,
  }
}

/**
 * @param {import('./context.js').ScenarioContext} ctx
 * @returns {Promise<import('../lib/report.js').Section>}
 */
export async function httpHit(ctx) {
  const levels = ctx.quick ? [4] : [64, 256]
  const seconds = ctx.quick ? 1 : 4
  const rounds = ctx.quick ? 1 : 3
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
  const oursUrl = `http://127.0.0.1:${oursPort}/v1/tts?text=${encodeURIComponent(TEXT)}`
  const headers = { authorization: `Bearer ${TOKEN}` }
  let ours = startServe({ env })
  /** @type {import('../lib/servers.js').Child[]} */
  const baselines = []
  /** @type {Record<string, Record<number, Awaited<ReturnType<typeof cannon>>[]>>} */
  const runs = { ours: {}, nginx: {}, static: {} }
  let wavBytes = 0
  let cacheHeader = ''
  const profiles = []
  try {
    await waitForHttp(`http://127.0.0.1:${oursPort}/healthz`, ours)
    const first = await fetch(oursUrl, { headers })
    wavBytes = (await first.arrayBuffer()).byteLength
    if (first.status !== 200) throw new Error(`GET /v1/tts answered ${first.status}`)
    const second = await fetch(oursUrl, { headers })
    await second.arrayBuffer()
    cacheHeader = second.headers.get('x-tts-cache') ?? '(none)'
    const wav = findWav(cacheDir)
    if (wav === undefined) throw new Error(`no WAV in ${cacheDir} after a render`)
    /** @type {Record<string, { url: string, headers?: Record<string, string> }>} */
    const targets = { ours: { url: oursUrl, headers } }
    const staticPort = await freePort()
    const staticServer = startChild(process.execPath, [path.join(ctx.repoRoot, 'load/bench/child/static-server.js'), path.dirname(wav), String(staticPort)])
    baselines.push(staticServer)
    targets['static'] = { url: `http://127.0.0.1:${staticPort}/${path.basename(wav)}` }
    await waitForHttp(targets['static'].url, staticServer)
    if (NGINX !== undefined) {
      const nginxPort = await freePort()
      const nginx = startNginx({ root: path.dirname(wav), port: nginxPort, workDir: subDir(ctx, 'nginx') })
      baselines.push(nginx)
      targets['nginx'] = { url: `http://127.0.0.1:${nginxPort}/${path.basename(wav)}` }
      await waitForHttp(targets['nginx'].url, nginx)
      Object.assign(targets, await startFrontTargets(ctx, { cacheDir, oursPort, wav, ttsPath: new URL(oursUrl).search, headers, children: baselines }))
    }

    ctx.progress('warm-up (JIT, connections)')
    for (const target of Object.values(targets)) await cannon(target.url, { connections: levels[0] ?? 4, duration: 1, headers: target.headers })
    const names = Object.keys(targets)
    for (const connections of levels) {
      // Each level opens new connections: warm every server up at that level first (the first
      // seconds after a burst of connects on this 2-core box carry TCP retransmits and JIT work).
      for (const [which, target] of Object.entries(targets)) {
        ctx.progress(`${connections} connections: warm-up ${which}`)
        await cannon(target.url, { connections, duration: 2, headers: target.headers })
      }
      for (let round = 0; round < rounds && !ctx.signal.aborted; round++) {
        // Rotate who goes first, so drift in the machine's background load hits all alike.
        const order = names.map((_, i) => names[(i + round) % names.length] ?? 'ours')
        for (const which of order) {
          const target = targets[which]
          if (target === undefined) continue
          ctx.progress(`${connections} connections, round ${round + 1}/${rounds}: ${which}, ${seconds} s`)
          const list = (runs[which] ??= {})[connections] ?? []
          list.push(await cannon(target.url, { connections, duration: seconds, headers: target.headers }))
          ;(runs[which] ??= {})[connections] = list
        }
      }
    }
  } finally {
    for (const child of baselines) await child.stop()
    await ours.stop()
  }

  const mean = (/** @type {number[]} */ xs) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length)
  const summary = (/** @type {Awaited<ReturnType<typeof cannon>>[] | undefined} */ list) =>
    list === undefined || list.length === 0
      ? undefined
      : {
          rps: mean(list.map((r) => r.rps)),
          p50: mean(list.map((r) => r.p50)),
          p99: Math.max(...list.map((r) => r.p99)),
          mbps: mean(list.map((r) => r.bytesPerSecond)) / 1024 ** 2,
          bad: list.reduce((a, r) => a + r.non2xx + r.errors, 0),
        }
  const cell = (/** @type {number | undefined} */ v, /** @type {(n: number) => string} */ fmt) => (v === undefined ? '—' : fmt(v))
  const tables = []
  const goals = []
  let worstRatio = Infinity
  for (const connections of levels) {
    const o = summary(runs['ours']?.[connections])
    const n = summary(runs['nginx']?.[connections])
    const s = summary(runs['static']?.[connections])
    tables.push({
      caption: `${connections} connections`,
      headers: ['metric', 'ours (GET /v1/tts, hit)', 'nginx (sendfile, 1 worker)', '@fastify/static', 'ours / nginx'],
      rows: [
        ['requests/s', cell(o?.rps, fmtInt), cell(n?.rps, fmtInt), cell(s?.rps, fmtInt), o && n ? fmtRatio(o.rps, n.rps) : '—'],
        ['latency p50', cell(o?.p50, fmtMs), cell(n?.p50, fmtMs), cell(s?.p50, fmtMs), o && n ? fmtRatio(o.p50, n.p50) : '—'],
        ['latency p99 (worst round)', cell(o?.p99, fmtMs), cell(n?.p99, fmtMs), cell(s?.p99, fmtMs), o && n ? fmtRatio(o.p99, n.p99) : '—'],
        ['throughput MiB/s', cell(o?.mbps, (v) => v.toFixed(1)), cell(n?.mbps, (v) => v.toFixed(1)), cell(s?.mbps, (v) => v.toFixed(1)), ''],
        ['non-2xx + errors', cell(o?.bad, fmtInt), cell(n?.bad, fmtInt), cell(s?.bad, fmtInt), ''],
      ],
    })
    const ratio = o && n ? o.rps / n.rps : NaN
    if (Number.isFinite(ratio)) worstRatio = Math.min(worstRatio, ratio)
    goals.push({
      name: `HTTP hit requests/s vs nginx, ${connections} connections`,
      target: `≥ ${HTTP_GOAL_RATIO}×`,
      value: o && n ? fmtRatio(o.rps, n.rps) : 'no nginx',
      met: Number.isFinite(ratio) ? ratio >= HTTP_GOAL_RATIO : undefined,
      why: 'our route does more per request (query validation, text normalisation, sha256 key, index lookup, auth, ETag/Range logic, metrics) in one Node event loop; the profile below shows where the time goes.',
    })
    goals.push({
      name: `HTTP hit p99 vs nginx, ${connections} connections`,
      target: `≤ ${HTTP_P99_RATIO}×`,
      value: o && n ? fmtRatio(o.p99, n.p99) : 'no nginx',
      met: o && n ? o.p99 <= HTTP_P99_RATIO * n.p99 : undefined,
      why: 'at a fixed number of connections latency is queueing: it follows requests/s.',
    })
  }

  const front = frontRows(levels, (which, connections) => summary(runs[which]?.[connections]))
  tables.push(...front.tables)
  goals.push(...front.goals)

  if (Number.isFinite(worstRatio) && worstRatio < HTTP_GOAL_RATIO && !ctx.quick && !ctx.signal.aborted) {
    ctx.progress('HTTP goal missed: profiling our server under the same load')
    const profDir = subDir(ctx, 'cpu-prof')
    const port = await freePort()
    const connections = levels[0] ?? 64
    ours = startServe({ env: { ...env, TTS_HTTP_PORT: String(port) }, nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${profDir}`] })
    const window = { fromUs: 0, toUs: 0 }
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
      profiles.push(profileMarkdown(await summarizeNewestProfile(profDir, 20, window), `our server during ${seconds} s of GET /v1/tts hits at ${connections} connections (start-up and warm-up left out)`))
    } catch (err) {
      profiles.push(`(no CPU profile: ${String(err)})`)
    }
  }

  return {
    id: 'http-hit',
    title: 'HTTP hit throughput: GET /v1/tts vs nginx and @fastify/static',
    description:
      `${WRK === undefined ? 'autocannon (wrk not installed: the client may be the limit)' : 'wrk, one thread,'} at ${levels.join(' and ')} connections, ${rounds} × ${seconds} s per server and level after a 2 s warm-up at that level, rotating the order; p99 is the worst round's; ` +
      `the same ${fmtInt(wavBytes)}-byte WAV (our cached file; the baselines serve its directory). Ours: ` +
      `\`node dist/cli/main.js serve\` (HTTP only, info log level, bearer token sent), every request answered X-TTS-Cache: ${cacheHeader}. ` +
      `nginx: sendfile, access_log off, one worker process${NGINX === undefined ? ' (NOT INSTALLED: apt-get install nginx-light)' : ''}. ` +
      `The nginx front: deploy/nginx/tts-cache.conf.template as shipped, with the same http-level tuning and one worker, before the same \`serve\` (TTS_HTTP_ACCEL_REDIRECT=${FRONT_ACCEL_PREFIX}): ` +
      `GET /v1/audio/<key>.wav is nginx alone; GET /v1/tts is our lookup answered with X-Accel-Redirect, then nginx sends the file (each checked once before the runs). ` +
      `All servers and the load generator share the machine's 2 cores (server and generator one each).`,
    tables,
    goals,
    profiles,
    raw: { runs, wavBytes },
  }
}

/**
 * Starts the nginx front before our `serve` and checks, once, that each front target is what its
 * row says: /v1/audio answered by nginx alone (our X-TTS-Cache: hit from the front's own headers,
 * the file's bytes) and /v1/tts handed over by X-Accel-Redirect (the same bytes, our headers).
 * Its targets join the scenario's, so they run in the same interleaved rounds.
 * @param {import('./context.js').ScenarioContext} ctx
 * @param {{ cacheDir: string, oursPort: number, wav: string, ttsPath: string, headers: Record<string, string>, children: import('../lib/servers.js').Child[] }} options
 * @returns {Promise<Record<string, { url: string, headers?: Record<string, string> }>>}
 */
async function startFrontTargets(ctx, options) {
  const port = await freePort()
  const front = startNginxFront({ cacheDir: options.cacheDir, serviceAddr: `127.0.0.1:${options.oursPort}`, port, workDir: subDir(ctx, 'nginx-front') })
  options.children.push(front)
  const base = `http://127.0.0.1:${port}`
  const key = path.basename(options.wav, '.wav')
  /** @type {Record<string, { url: string, headers?: Record<string, string> }>} */
  const targets = {
    [FRONT_TARGETS.audio]: { url: `${base}/v1/audio/${key}.wav` },
    [FRONT_TARGETS.tts]: { url: `${base}/v1/tts${options.ttsPath}`, headers: options.headers },
  }
  await waitForHttp(`${base}/v1/audio/${key}.wav`, front)
  const file = await readFile(options.wav)
  for (const [which, target] of Object.entries(targets)) {
    const res = await fetch(target.url, { headers: target.headers ?? {} })
    const bytes = Buffer.from(await res.arrayBuffer())
    // X-Request-Id comes from our service only: absent, nginx answered alone; present, our lookup ran.
    const reachedOurs = res.headers.get('x-request-id') !== null
    if (res.status !== 200 || !bytes.equals(file) || res.headers.get('x-tts-cache') !== 'hit' || reachedOurs !== (which === FRONT_TARGETS.tts)) {
      throw new Error(`nginx front: ${target.url} answered ${res.status} (${bytes.length} bytes, X-TTS-Cache ${res.headers.get('x-tts-cache')}, X-Request-Id ${res.headers.get('x-request-id')}), not as its row says`)
    }
  }
  return targets
}

/**
 * The front's rows and goals: each front target against bare nginx serving the same file.
 * `summarize(which, connections)` is the scenario's own summary of a target's rounds.
 * @template {{ rps: number, p50: number, p99: number }} S
 * @param {number[]} levels
 * @param {(which: string, connections: number) => S | undefined} summarize
 */
function frontRows(levels, summarize) {
  /** @type {import('../lib/report.js').Table[]} */
  const tables = []
  /** @type {import('../lib/report.js').Goal[]} */
  const goals = []
  const rows = /** @type {const} */ ([
    [FRONT_TARGETS.audio, FRONT_AUDIO_GOAL_RATIO, 'nginx alone: a regex location, the If-None-Match map, try_files (one stat), the same sendfile'],
    [FRONT_TARGETS.tts, FRONT_TTS_GOAL_RATIO, 'our full /v1/tts lookup per request (query, key, index, stat) over a keep-alive upstream, then the same sendfile'],
  ])
  for (const connections of levels) {
    const n = summarize('nginx', connections)
    const cells = rows.map(([which]) => summarize(which, connections))
    const ratio = (/** @type {S | undefined} */ f, /** @type {(s: S) => number} */ pick) => (f && n ? fmtRatio(pick(f), pick(n)) : '—')
    tables.push({
      caption: `${connections} connections: the nginx front (deploy/nginx) vs bare nginx, same file`,
      headers: ['metric', 'bare nginx', ...rows.map(([which]) => which), ...rows.map(([which]) => `${which} / nginx`)],
      rows: [
        ['requests/s', n ? fmtInt(n.rps) : '—', ...cells.map((c) => (c ? fmtInt(c.rps) : '—')), ...cells.map((c) => ratio(c, (s) => s.rps))],
        ['latency p50', n ? fmtMs(n.p50) : '—', ...cells.map((c) => (c ? fmtMs(c.p50) : '—')), ...cells.map((c) => ratio(c, (s) => s.p50))],
        ['latency p99', n ? fmtMs(n.p99) : '—', ...cells.map((c) => (c ? fmtMs(c.p99) : '—')), ...cells.map((c) => ratio(c, (s) => s.p99))],
      ],
    })
    rows.forEach(([which, goal, why], i) => {
      const f = cells[i]
      const value = f && n ? f.rps / n.rps : NaN
      goals.push({
        name: `${which} hit requests/s vs bare nginx, ${connections} connections`,
        target: `≥ ${goal}×`,
        value: Number.isFinite(value) ? fmtRatio(f?.rps ?? NaN, n?.rps ?? NaN) : 'no nginx',
        met: Number.isFinite(value) ? value >= goal : undefined,
        why,
      })
    })
  }
  return { tables, goals }
}
