// @ts-check
/**
 * mixed: the traffic of load/k6/mixed.ts and its thresholds, driven from Node — a stand-in for
 * `k6 run load/k6/mixed.ts`, because no k6 binary can be installed here (npm's `k6` package is
 * a placeholder and Debian has none). Same phrases and sampler (load/k6/lib/phrases.ts, imported
 * as is), same defaults and thresholds (read from mixed.ts by k6-mixed-settings.js), same
 * setup (pre-warm the most popular phrases through POST /v1/prewarm, poll until done), the same
 * executor (lib/arrival-rate.js) and the same timing of a request (lib/timed-get.js).
 */
import http from 'node:http'
import os from 'node:os'
import { phraseSet, seededRandom, ttsQuery, zipfSampler } from '../../k6/lib/phrases.ts'
import { runConstantArrivalRate } from '../lib/arrival-rate.js'
import { machineCpu, processCpu } from '../lib/cpu-time.js'
import { mixedSettings } from '../lib/k6-mixed-settings.js'
import { freePort, SERVE_NODE_ARGS, startServe, waitForHttp } from '../lib/servers.js'
import { fmtInt, fmtMs, percentileOfSorted } from '../lib/stats.js'
import { timedGet } from '../lib/timed-get.js'
import { subDir } from './context.js'

const TOKEN = 'bench-token-not-secret'
/** The k6 script draws with Math.random; a fixed seed makes two bench runs ask the same sequence. */
const SAMPLER_SEED = 42
/** Windows of the "over time" table. */
const WINDOW_S = 10

/**
 * @typedef {object} Sample
 * @property {number} atS seconds since the first arrival
 * @property {number} ms
 * @property {string} cache hit | rendered | coalesced | missing
 * @property {number} status
 */

/** @param {readonly number[]} xs @param {number} p */
function pct(xs, p) {
  return percentileOfSorted([...xs].sort((a, b) => a - b), p)
}

/**
 * Sum of a Prometheus metric's samples whose line starts with `prefix` (all label sets).
 * @param {string} text @param {string} prefix
 */
function promSum(text, prefix) {
  return text
    .split('\n')
    .filter((l) => l.startsWith(prefix) && (l[prefix.length] === '{' || l[prefix.length] === ' '))
    .reduce((sum, l) => sum + Number(l.slice(l.lastIndexOf(' ') + 1)), 0)
}

/**
 * k6's setup(): POST /v1/prewarm with the top phrases, then GET /v1/prewarm/:id every second
 * until the batch leaves `running` (the API's only non-final state) or the timeout.
 * @param {string} base @param {{ text: string, voice?: string }[]} items @param {number} timeoutS
 * @param {(ok: boolean) => void} countRequest feeds http_req_failed, as k6 counts setup's requests
 */
async function prewarm(base, items, timeoutS, countRequest) {
  const headers = { authorization: `Bearer ${TOKEN}` }
  const res = await fetch(`${base}/v1/prewarm`, { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: JSON.stringify({ items }) })
  const accepted = /** @type {{ id?: string }} */ (await res.json())
  countRequest(res.status < 400)
  if (res.status !== 202 || accepted.id === undefined) throw new Error(`POST /v1/prewarm: expected 202, got ${res.status}: ${JSON.stringify(accepted).slice(0, 300)}`)
  const deadline = Date.now() + timeoutS * 1000
  for (;;) {
    const poll = await fetch(`${base}/v1/prewarm/${encodeURIComponent(accepted.id)}`, { headers })
    const progress = /** @type {{ state: string, done: number, failed: number, rendered: number, errors: unknown[] }} */ (await poll.json())
    countRequest(poll.status < 400)
    if (poll.status !== 200) throw new Error(`GET /v1/prewarm/${accepted.id}: ${poll.status}`)
    if (progress.state !== 'running') return { ...progress, finished: true }
    if (Date.now() >= deadline) return { ...progress, finished: false }
    await new Promise((resolve) => setTimeout(resolve, 1000))
  }
}

/**
 * @param {import('./context.js').ScenarioContext} ctx
 * @returns {Promise<import('../lib/report.js').Section>}
 */
export async function mixed(ctx) {
  const shipped = mixedSettings()
  const s = ctx.quick ? { ...shipped, rate: 20, durationS: 5, prewarmTop: 30 } : shipped
  const phrases = phraseSet(s.phraseSet, s.phrases, s.voices)
  const nextRank = zipfSampler(s.phrases, s.zipfS, seededRandom(SAMPLER_SEED))
  const port = await freePort()
  const base = `http://127.0.0.1:${port}`
  const child = startServe({
    nodeArgs: SERVE_NODE_ARGS,
    // As deployed: the default (info) log level, the token k6 sends.
    env: { TTS_CACHE_DIR: subDir(ctx, 'cache'), TTS_HTTP_HOST: '127.0.0.1', TTS_HTTP_PORT: String(port), TTS_ESL_ENABLED: 'false', TTS_API_TOKEN: TOKEN, TTS_LOG_LEVEL: 'info' },
  })
  const agent = new http.Agent({ keepAlive: true, maxSockets: s.maxVus, maxFreeSockets: s.maxVus })
  const load = { start: os.loadavg(), end: os.loadavg() }
  let requests = 0
  let failedRequests = 0
  const countRequest = (/** @type {boolean} */ ok) => {
    requests++
    if (!ok) failedRequests++
  }
  let checks = 0
  let checksPassed = 0
  /** @type {Sample[]} */
  const samples = []
  /** @type {Map<string, number>} */
  const errors = new Map()
  let setup
  let setupS = 0
  let run
  let cpu
  let metrics = ''
  try {
    await waitForHttp(`${base}/readyz`, child)
    ctx.progress(`setup: pre-warming the top ${s.prewarmTop} of ${s.phrases} phrases through POST /v1/prewarm`)
    const setupStarted = performance.now()
    const items = phrases.slice(0, s.prewarmTop).map((p) => (p.voice === '' ? { text: p.text } : { text: p.text, voice: p.voice }))
    setup = await prewarm(base, items, s.prewarmTimeoutS, countRequest)
    setupS = (performance.now() - setupStarted) / 1000
    if (!setup.finished) throw new Error(`pre-warm did not finish within ${s.prewarmTimeoutS} s (k6 aborts the test here)`)
    ctx.progress(`setup: ${setup.done} cached (${setup.rendered} rendered) in ${setupS.toFixed(1)} s; ${s.rate} req/s for ${s.durationS} s`)
    const headers = { authorization: `Bearer ${TOKEN}` }
    load.start = os.loadavg()
    const before = { client: process.cpuUsage(), service: processCpu(child.pid), machine: machineCpu() }
    const began = performance.now()
    run = await runConstantArrivalRate({
      rate: s.rate,
      durationS: s.durationS,
      maxVus: s.maxVus,
      gracefulStopS: s.gracefulStopS,
      signal: ctx.signal,
      shouldAbort: () =>
        (performance.now() - began) / 1000 >= s.abortDelayS && failedRequests / Math.max(1, requests) >= s.abortFailedRate
          ? `http_req_failed ${((failedRequests * 100) / requests).toFixed(1)}% ≥ ${s.abortFailedRate * 100}% after ${s.abortDelayS} s`
          : undefined,
      iterate: async (_i, signal) => {
        const phrase = phrases[nextRank()]
        if (phrase === undefined) return
        const res = await timedGet(agent, new URL(`${base}/v1/tts?${ttsQuery(phrase)}`), { headers, signal })
        if (res.error !== undefined && signal.aborted) return // interrupted by the graceful stop: k6 records nothing
        countRequest(res.status !== 0 && res.status < 400)
        if (res.error !== undefined) errors.set(res.error, (errors.get(res.error) ?? 0) + 1)
        else if (res.status !== 200) errors.set(`HTTP ${res.status}`, (errors.get(`HTTP ${res.status}`) ?? 0) + 1)
        const header = String(res.headers['x-tts-cache'] ?? '').trim().toLowerCase()
        const cache = header === 'hit' || header === 'rendered' || header === 'coalesced' ? header : 'missing'
        checks += 2
        checksPassed += (res.status === 200 ? 1 : 0) + (cache !== 'missing' ? 1 : 0)
        if (res.status === 200) samples.push({ atS: (performance.now() - began) / 1000, ms: res.durationMs, cache, status: res.status })
      },
    })
    const wallS = (performance.now() - began) / 1000
    const client = process.cpuUsage(before.client)
    const service = processCpu(child.pid)
    const machine = machineCpu()
    load.end = os.loadavg()
    cpu = {
      wallS,
      clientCores: (client.user + client.system) / 1e6 / wallS,
      serviceCores: (service.selfS - before.service.selfS) / wallS,
      enginesCores: (service.childrenS - before.service.childrenS) / wallS,
      machineCores: (machine.busyS - before.machine.busyS) / wallS,
    }
    metrics = await (await fetch(`${base}/metrics`)).text()
  } finally {
    agent.destroy()
    await child.stop()
  }

  const of = (/** @type {string[]} */ kinds) => samples.filter((x) => kinds.includes(x.cache)).map((x) => x.ms)
  const hitMs = of(['hit'])
  const missMs = of(['rendered', 'coalesced'])
  const count = (/** @type {string} */ kind) => samples.filter((x) => x.cache === kind).length
  const hitRate = hitMs.length / Math.max(1, samples.length)
  const failedRate = failedRequests / Math.max(1, requests)
  const checksRate = checksPassed / Math.max(1, checks)
  const missing = count('missing')
  const renders = promSum(metrics, 'tts_renders_total')
  const renderS = promSum(metrics, 'tts_render_duration_seconds_sum') / Math.max(1, promSum(metrics, 'tts_render_duration_seconds_count'))
  const lagSorted = [...(run?.lagMs ?? [])].sort((a, b) => a - b)
  const pctCell = (/** @type {number[]} */ xs) => `${fmtMs(pct(xs, 50))} / ${fmtMs(pct(xs, 95))} / ${fmtMs(pct(xs, 99))} / ${fmtMs(Math.max(...xs))}`
  const windows = Array.from({ length: Math.ceil((run?.wallMs ?? 0) / 1000 / WINDOW_S) }, (_, w) => {
    const inWindow = samples.filter((x) => x.atS >= w * WINDOW_S && x.atS < (w + 1) * WINDOW_S)
    const hits = inWindow.filter((x) => x.cache === 'hit').map((x) => x.ms)
    const misses = inWindow.filter((x) => x.cache === 'rendered' || x.cache === 'coalesced').map((x) => x.ms)
    return [`${w * WINDOW_S}–${(w + 1) * WINDOW_S}`, fmtInt(inWindow.length), fmtInt(misses.length), fmtMs(pct(hits, 95)), fmtMs(pct(hits, 99)), fmtMs(pct(misses, 95))]
  })
  const fmtPct = (/** @type {number} */ r) => `${(r * 100).toFixed(2)} %`
  /** @type {import('../lib/report.js').Goal[]} */
  const goals = [
    { name: 'k6 mixed: http_req_failed', target: `< ${fmtPct(s.maxFailedRate)}`, value: fmtPct(failedRate), met: requests > 0 ? failedRate < s.maxFailedRate : undefined, why: `errors: ${JSON.stringify(Object.fromEntries(errors))}` },
    { name: 'k6 mixed: checks (200 and X-TTS-Cache)', target: `> ${fmtPct(s.minChecksRate)}`, value: fmtPct(checksRate), met: checks > 0 ? checksRate > s.minChecksRate : undefined },
    { name: 'k6 mixed: tts_hit_duration p95', target: `< ${s.hitP95Ms} ms`, value: fmtMs(pct(hitMs, 95)), met: hitMs.length > 0 ? pct(hitMs, 95) < s.hitP95Ms : undefined },
    { name: 'k6 mixed: tts_hit_duration p99', target: `< ${s.hitP99Ms} ms`, value: fmtMs(pct(hitMs, 99)), met: hitMs.length > 0 ? pct(hitMs, 99) < s.hitP99Ms : undefined },
    { name: 'k6 mixed: tts_miss_duration p95', target: `< ${fmtInt(s.missP95Ms)} ms`, value: fmtMs(pct(missMs, 95)), met: missMs.length > 0 ? pct(missMs, 95) < s.missP95Ms : undefined },
    { name: 'k6 mixed: tts_miss_duration p99', target: `< ${fmtInt(s.missP99Ms)} ms`, value: fmtMs(pct(missMs, 99)), met: missMs.length > 0 ? pct(missMs, 99) < s.missP99Ms : undefined },
    { name: 'k6 mixed: tts_cache_hit_rate', target: `> ${fmtPct(s.minHitRate)}`, value: fmtPct(hitRate), met: samples.length > 0 ? hitRate > s.minHitRate : undefined },
    { name: 'k6 mixed: tts_cache_header_missing', target: '= 0', value: fmtInt(missing), met: samples.length > 0 ? missing === 0 : undefined },
  ]
  const cores = (/** @type {number | undefined} */ c) => (c === undefined ? 'n/a' : c.toFixed(2))
  return {
    id: 'mixed',
    title: 'k6 mixed.ts thresholds (Node stand-in)',
    description:
      `**A Node stand-in for \`k6 run load/k6/mixed.ts\`** against the real \`serve\` (${SERVE_NODE_ARGS.join(' ')}, info log level, real espeak-ng, an empty cache directory): ` +
      'no k6 binary can be installed on this machine (npm\'s `k6` package is a placeholder; Debian has none), so the bench replays the script: ' +
      `the same ${fmtInt(s.phrases)} phrases of the set \`${s.phraseSet}\` over ${s.voices.join(', ')} and the same Zipf(${s.zipfS}) sampler (load/k6/lib/phrases.ts, imported as is; seeded here so runs repeat), ` +
      `the same setup (the top ${s.prewarmTop} pre-warmed through POST /v1/prewarm, polled until done), then \`GET /v1/tts\` at a constant ${s.rate} arrivals/s for ${s.durationS} s ` +
      `(an open model; at most ${s.maxVus} in flight, arrivals beyond that dropped as k6 drops them; ${s.gracefulStopS} s graceful stop), and the same thresholds, read from mixed.ts itself. ` +
      'A request is timed as k6 times http_req_duration: from a connected socket to the last byte of the body. ' +
      `**The client runs on the same ${os.availableParallelism()} cores as the service and its engines** (its own CPU share is in the table), so this is harsher than k6 on a separate load host.`,
    tables: [
      {
        headers: ['metric', 'value'],
        rows: [
          ['setup: pre-warmed (rendered now) / failed, wall time', setup === undefined ? 'n/a' : `${fmtInt(setup.done)} (${fmtInt(setup.rendered)}) / ${fmtInt(setup.failed)}, ${setupS.toFixed(1)} s`],
          ['requests answered 200: hit / rendered / coalesced / no header', `${fmtInt(samples.length)}: ${fmtInt(hitMs.length)} / ${fmtInt(count('rendered'))} / ${fmtInt(count('coalesced'))} / ${fmtInt(missing)}`],
          ['http requests (setup included) / failed', `${fmtInt(requests)} / ${fmtInt(failedRequests)}${errors.size > 0 ? ` (${[...errors].map(([e, n]) => `${e}: ${n}`).join('; ')})` : ''}`],
          ['hit latency p50 / p95 / p99 / max', pctCell(hitMs)],
          ['miss latency (rendered + coalesced) p50 / p95 / p99 / max', pctCell(missMs)],
          ['renders during the run (tts_renders_total, setup included) / mean engine time', `${fmtInt(renders)} / ${fmtMs(renderS * 1000)}`],
          ['dropped iterations / interrupted at the graceful stop / most in flight', run === undefined ? 'n/a' : `${fmtInt(run.dropped)} / ${fmtInt(run.interrupted)} / ${fmtInt(run.maxInFlight)}`],
          ['client lateness starting an arrival p99 / max', `${fmtMs(percentileOfSorted(lagSorted, 99))} / ${fmtMs(lagSorted.at(-1) ?? Number.NaN)}`],
          ['CPU cores busy: machine / service / its engines (espeak-ng, sox) / this client', `${cores(cpu?.machineCores)} / ${cores(cpu?.serviceCores)} / ${cores(cpu?.enginesCores)} / ${cores(cpu?.clientCores)}`],
          ['load average (1 / 5 / 15 min) before → after the run', `${load.start.map((l) => l.toFixed(2)).join(' ')} → ${load.end.map((l) => l.toFixed(2)).join(' ')}`],
        ],
      },
      { caption: `over time (${WINDOW_S} s windows)`, headers: ['s', 'answered', 'misses', 'hit p95', 'hit p99', 'miss p95'], rows: windows },
    ],
    goals,
    notes: run?.abortedBecause === undefined ? [] : [`⚠ aborted early, as k6 would (abortOnFail): ${run.abortedBecause}`],
    raw: { settings: s, setup, setupS, requests, failedRequests, checks, checksPassed, counts: { hit: hitMs.length, rendered: count('rendered'), coalesced: count('coalesced'), missing }, run: run === undefined ? undefined : { ...run, lagMs: undefined }, cpu, load, renders, renderS },
  }
}
