// @ts-check
/**
 * HTTP hit throughput: autocannon against our GET /v1/tts (a cached phrase; `serve` started
 * from the CLI as deployed) vs a minimal Fastify + @fastify/static app serving the same WAV
 * file, same connections and duration, both as child processes on 127.0.0.1.
 */
import { readdirSync } from 'node:fs'
import path from 'node:path'
// @ts-ignore autocannon ships no type declarations
import autocannon from 'autocannon'
import { monotonicUs, profileMarkdown, summarizeNewestProfile } from '../lib/cpu-profile.js'
import { freePort, startChild, startServe, waitForHttp } from '../lib/servers.js'
import { fmtInt, fmtMs, fmtRatio } from '../lib/stats.js'
import { subDir } from './context.js'

export const HTTP_GOAL_RATIO = 0.9
const TOKEN = 'bench-token-not-secret'
const TEXT = 'Thank you for calling. All of our agents are busy right now; please stay on the line and your call will be answered in turn.'

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

/**
 * @param {string} url
 * @param {{ connections: number, duration: number, headers?: Record<string, string> }} options
 */
async function cannon(url, options) {
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

/**
 * @param {import('./context.js').ScenarioContext} ctx
 * @returns {Promise<import('../lib/report.js').Section>}
 */
export async function httpHit(ctx) {
  const connections = ctx.quick ? 4 : 32
  const seconds = ctx.quick ? 1 : 5
  const rounds = ctx.quick ? 1 : 3
  const cacheDir = subDir(ctx, 'cache')
  const oursPort = await freePort()
  const env = {
    TTS_CACHE_DIR: cacheDir,
    TTS_HTTP_HOST: '127.0.0.1',
    TTS_HTTP_PORT: String(oursPort),
    TTS_ESL_ENABLED: 'false',
    TTS_API_TOKEN: TOKEN,
  }
  const oursUrl = `http://127.0.0.1:${oursPort}/v1/tts?text=${encodeURIComponent(TEXT)}`
  const headers = { authorization: `Bearer ${TOKEN}` }
  let ours = startServe({ env })
  /** @type {import('../lib/servers.js').Child | undefined} */
  let staticServer
  /** @type {Awaited<ReturnType<typeof cannon>>[]} */
  const oursRuns = []
  /** @type {Awaited<ReturnType<typeof cannon>>[]} */
  const staticRuns = []
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
    const staticPort = await freePort()
    staticServer = startChild(process.execPath, [path.join(ctx.repoRoot, 'load/bench/child/static-server.js'), path.dirname(wav), String(staticPort)])
    const staticUrl = `http://127.0.0.1:${staticPort}/${path.basename(wav)}`
    await waitForHttp(staticUrl, staticServer)

    ctx.progress('warm-up (JIT, connections)')
    await cannon(oursUrl, { connections, duration: 1, headers })
    await cannon(staticUrl, { connections, duration: 1 })
    for (let round = 0; round < rounds && !ctx.signal.aborted; round++) {
      // Alternate which goes first, so drift in the machine's background load hits both alike.
      const order = round % 2 === 0 ? ['ours', 'static'] : ['static', 'ours']
      for (const which of order) {
        ctx.progress(`round ${round + 1}/${rounds}: ${which}, ${connections} connections, ${seconds} s`)
        if (which === 'ours') oursRuns.push(await cannon(oursUrl, { connections, duration: seconds, headers }))
        else staticRuns.push(await cannon(staticUrl, { connections, duration: seconds }))
      }
    }
  } finally {
    await staticServer?.stop()
    await ours.stop()
  }

  const mean = (/** @type {number[]} */ xs) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length)
  const o = {
    rps: mean(oursRuns.map((r) => r.rps)),
    p50: mean(oursRuns.map((r) => r.p50)),
    p99: Math.max(...oursRuns.map((r) => r.p99)),
    mbps: mean(oursRuns.map((r) => r.bytesPerSecond)) / 1024 ** 2,
    bad: oursRuns.reduce((a, r) => a + r.non2xx + r.errors, 0),
  }
  const s = {
    rps: mean(staticRuns.map((r) => r.rps)),
    p50: mean(staticRuns.map((r) => r.p50)),
    p99: Math.max(...staticRuns.map((r) => r.p99)),
    mbps: mean(staticRuns.map((r) => r.bytesPerSecond)) / 1024 ** 2,
    bad: staticRuns.reduce((a, r) => a + r.non2xx + r.errors, 0),
  }
  const ratio = o.rps / s.rps

  if (Number.isFinite(ratio) && ratio < HTTP_GOAL_RATIO && !ctx.quick && !ctx.signal.aborted) {
    ctx.progress('HTTP goal missed: profiling our server under the same load')
    const profDir = subDir(ctx, 'cpu-prof')
    const port = await freePort()
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
      profiles.push(profileMarkdown(await summarizeNewestProfile(profDir, 20, window), `our server during ${seconds} s of GET /v1/tts hits (start-up and warm-up left out)`))
    } catch (err) {
      profiles.push(`(no CPU profile: ${String(err)})`)
    }
  }

  return {
    id: 'http-hit',
    title: 'HTTP hit throughput: GET /v1/tts vs @fastify/static',
    description:
      `autocannon, ${connections} connections, ${rounds} × ${seconds} s per side after a 1 s warm-up, alternating order; ` +
      `the same ${fmtInt(wavBytes)}-byte WAV (our cached file; the static app serves its directory). Ours: ` +
      `\`node dist/cli/main.js serve\` (HTTP only, bearer token sent), every request answered X-TTS-Cache: ${cacheHeader}. ` +
      `Both servers and autocannon share the machine's cores.`,
    tables: [
      {
        headers: ['metric', 'ours (GET /v1/tts, hit)', '@fastify/static', 'ours / static'],
        rows: [
          ['requests/s', fmtInt(o.rps), fmtInt(s.rps), fmtRatio(o.rps, s.rps)],
          ['latency p50', fmtMs(o.p50), fmtMs(s.p50), fmtRatio(o.p50, s.p50)],
          ['latency p99 (worst round)', fmtMs(o.p99), fmtMs(s.p99), fmtRatio(o.p99, s.p99)],
          ['throughput', `${o.mbps.toFixed(1)} MiB/s`, `${s.mbps.toFixed(1)} MiB/s`, fmtRatio(o.mbps, s.mbps)],
          ['non-2xx + errors', fmtInt(o.bad), fmtInt(s.bad), ''],
        ],
      },
    ],
    goals: [
      {
        name: 'HTTP hit throughput vs @fastify/static',
        target: `≥ ${HTTP_GOAL_RATIO}×`,
        value: fmtRatio(o.rps, s.rps),
        met: Number.isFinite(ratio) ? ratio >= HTTP_GOAL_RATIO : undefined,
        why: 'our route does more per request (query validation, text normalisation, sha256 key, index lookup, auth, ETag/Range logic, metrics); the profile below shows where the time goes.',
      },
    ],
    profiles,
    raw: { ours: oursRuns, static: staticRuns, wavBytes },
  }
}
