// @ts-check
/**
 * One run of load/k6/mixed.ts's traffic against a fresh `serve`, from Node: the k6 script's
 * setup (pre-warm the most popular phrases through POST /v1/prewarm, poll until done), then its
 * `constant-arrival-rate` scenario of GET /v1/tts (arrival-rate.js), each response counted by
 * its X-TTS-Cache header and timed as k6 times http_req_duration (timed-get.js). Raw figures
 * only; scenarios/mixed.js judges them against the script's thresholds.
 */
import { readFileSync } from 'node:fs'
import http from 'node:http'
import os from 'node:os'
import { phraseSet, seededRandom, ttsQuery, zipfSampler } from '../../k6/lib/phrases.ts'
import { runConstantArrivalRate } from './arrival-rate.js'
import { monotonicUs } from './cpu-profile.js'
import { liveChildrenCpuS, machineCpu, processCpu } from './cpu-time.js'
import { freePort, rssOf, startServe, waitForHttp, waitForIndex } from './servers.js'
import { timedGet } from './timed-get.js'

export const MIXED_TOKEN = 'bench-token-not-secret'
/** The k6 script draws with Math.random; a fixed seed makes two bench runs ask the same sequence. */
export const MIXED_SAMPLER_SEED = 42

/**
 * @typedef {object} MixedSample
 * @property {number} atS seconds since the first arrival
 * @property {number} ms
 * @property {'hit' | 'rendered' | 'coalesced' | 'missing'} cache
 */

/**
 * @typedef {object} MixedRun
 * @property {{ done: number, failed: number, rendered: number, errors: unknown[], finished: boolean }} setup
 * @property {number} setupS
 * @property {number} requests every HTTP request, setup's included (k6's http_req_failed counts them)
 * @property {number} failedRequests status 0 (no answer) or ≥ 400
 * @property {number} checks
 * @property {number} checksPassed
 * @property {MixedSample[]} samples one per 200 answer of the load phase
 * @property {Map<string, number>} errors
 * @property {import('./arrival-rate.js').ArrivalRateResult} arrivals
 * @property {{ wallS: number, clientCores: number, serviceCores: number, enginesCores: number, machineCores: number }} cpu
 * @property {{ start: number[], end: number[] }} load
 * @property {string} metricsBefore the service's /metrics right before the load phase
 * @property {string} metricsAfter and right after it
 * @property {string} metricsEnd and at the end of the idle time after it ('' when there was none)
 * @property {{ fromUs: number, toUs: number }} window the load phase on the profiler's clock
 * @property {MemorySample[]} memory the service's RSS (/proc) every second from its spawn to the end of the idle time after the load
 */

/**
 * @typedef {{ t: number, phase: 'start' | 'setup' | 'load' | 'after', rss: number, anon: number }} MemorySample
 */

/** Idle seconds after the load, still sampled (issue 19: RSS during and after the load). */
export const MIXED_AFTER_S = 15

/** Anonymous memory of `pid` (/proc smaps_rollup: V8's heaps, malloc arenas, stacks), NaN when unreadable. */
function anonOf(/** @type {number | undefined} */ pid) {
  try {
    return Number(/^Anonymous:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'))?.[1] ?? Number.NaN) * 1024
  } catch {
    return Number.NaN
  }
}

/**
 * RSS and its anonymous part every second from now on (the spawn: nothing left out), tagged
 * with the run's phase. /proc only, so no scrape of /metrics resets the event-loop delay
 * histogram the run reports (the V8 heap is read from /metrics at the phase boundaries).
 * @param {number | undefined} pid
 */
function sampleMemoryFromSpawn(pid) {
  /** @type {MemorySample[]} */
  const memory = []
  const state = { phase: /** @type {MemorySample['phase']} */ ('start') }
  const spawnedAt = performance.now()
  const sample = () => {
    try {
      memory.push({ t: (performance.now() - spawnedAt) / 1000, phase: state.phase, rss: rssOf(pid), anon: anonOf(pid) })
    } catch {
      // The process is gone: its exit is reported by what waits on it.
    }
  }
  sample()
  const timer = setInterval(sample, 1000)
  return { memory, state, sample, stop: () => clearInterval(timer) }
}

/**
 * k6's setup(): POST /v1/prewarm with the top phrases, then GET /v1/prewarm/:id every second
 * until the batch leaves `running` (the API's only non-final state) or the timeout.
 * @param {string} base @param {{ text: string, voice?: string }[]} items @param {number} timeoutS
 * @param {(ok: boolean) => void} countRequest
 */
async function prewarm(base, items, timeoutS, countRequest) {
  const headers = { authorization: `Bearer ${MIXED_TOKEN}` }
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
 * @param {import('./k6-mixed-settings.js').MixedSettings} s
 * @param {{ cacheDir: string, nodeArgs?: readonly string[], afterS?: number, signal: AbortSignal, progress: (m: string) => void }} options
 *   nodeArgs go after the deployed flags startServe gives (e.g. --cpu-prof); afterS: idle seconds sampled after the load (MIXED_AFTER_S)
 * @returns {Promise<MixedRun>}
 */
export async function runK6Mixed(s, options) {
  const phrases = phraseSet(s.phraseSet, s.phrases, s.voices)
  const nextRank = zipfSampler(s.phrases, s.zipfS, seededRandom(MIXED_SAMPLER_SEED))
  const port = await freePort()
  const base = `http://127.0.0.1:${port}`
  const child = startServe({
    nodeArgs: options.nodeArgs,
    // As deployed: the default (info) log level; the token k6 sends.
    env: { TTS_CACHE_DIR: options.cacheDir, TTS_HTTP_HOST: '127.0.0.1', TTS_HTTP_PORT: String(port), TTS_ESL_ENABLED: 'false', TTS_API_TOKEN: MIXED_TOKEN, TTS_LOG_LEVEL: 'info' },
  })
  const agent = new http.Agent({ keepAlive: true, maxSockets: s.maxVus, maxFreeSockets: s.maxVus })
  const headers = { authorization: `Bearer ${MIXED_TOKEN}` }
  let requests = 0
  let failedRequests = 0
  const countRequest = (/** @type {boolean} */ ok) => {
    requests++
    if (!ok) failedRequests++
  }
  let checks = 0
  let checksPassed = 0
  /** @type {MixedSample[]} */
  const samples = []
  /** @type {Map<string, number>} */
  const errors = new Map()
  // RSS from the spawn on, nothing left out (issue 19): /proc only, so no scrape of /metrics
  // disturbs the event-loop delay the run reports.
  const rss = sampleMemoryFromSpawn(child.pid)
  const memory = rss.memory
  try {
    await waitForHttp(`${base}/readyz`, child)
    // k6 starts on a service that is up; with the 100k tree that is once its index is loaded
    // (it answers while it scans, but its pressure guard may refuse the pre-warm then).
    await waitForIndex(`${base}/readyz`, { signal: options.signal })
    rss.state.phase = 'setup'
    options.progress(`setup: pre-warming the top ${s.prewarmTop} of ${s.phrases} phrases through POST /v1/prewarm`)
    const setupStarted = performance.now()
    const items = phrases.slice(0, s.prewarmTop).map((p) => (p.voice === '' ? { text: p.text } : { text: p.text, voice: p.voice }))
    const setup = await prewarm(base, items, s.prewarmTimeoutS, countRequest)
    const setupS = (performance.now() - setupStarted) / 1000
    if (!setup.finished) throw new Error(`pre-warm did not finish within ${s.prewarmTimeoutS} s (k6 aborts the test here)`)
    options.progress(`setup: ${setup.done} cached (${setup.rendered} rendered) in ${setupS.toFixed(1)} s; now ${s.rate} req/s for ${s.durationS} s`)
    // The scrape also resets the service's event-loop delay histogram: the next one covers the load alone.
    const metricsBefore = await (await fetch(`${base}/metrics`)).text()
    rss.state.phase = 'load'
    const load = { start: os.loadavg(), end: os.loadavg() }
    const before = { client: process.cpuUsage(), service: processCpu(child.pid), host: liveChildrenCpuS(child.pid), machine: machineCpu() }
    const window = { fromUs: monotonicUs(), toUs: 0 }
    const began = performance.now()
    const arrivals = await runConstantArrivalRate({
      rate: s.rate,
      durationS: s.durationS,
      maxVus: s.maxVus,
      gracefulStopS: s.gracefulStopS,
      signal: options.signal,
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
        const problem = res.error ?? (res.status === 200 ? undefined : `HTTP ${res.status}`)
        if (problem !== undefined) errors.set(problem, (errors.get(problem) ?? 0) + 1)
        const header = String(res.headers['x-tts-cache'] ?? '').trim().toLowerCase()
        const cache = header === 'hit' || header === 'rendered' || header === 'coalesced' ? header : 'missing'
        checks += 2
        checksPassed += (res.status === 200 ? 1 : 0) + (cache !== 'missing' ? 1 : 0)
        if (res.status === 200) samples.push({ atS: (performance.now() - began) / 1000, ms: res.durationMs, cache })
      },
    })
    window.toUs = monotonicUs()
    const wallS = (performance.now() - began) / 1000
    const client = process.cpuUsage(before.client)
    const service = processCpu(child.pid)
    // serve renders in its render host (a child), which runs the engines: count the host and what it ran.
    const host = liveChildrenCpuS(child.pid)
    const machine = machineCpu()
    load.end = os.loadavg()
    const cpu = {
      wallS,
      clientCores: (client.user + client.system) / 1e6 / wallS,
      serviceCores: (service.selfS - before.service.selfS) / wallS,
      enginesCores: (service.childrenS - before.service.childrenS + host - before.host) / wallS,
      machineCores: (machine.busyS - before.machine.busyS) / wallS,
    }
    const metricsAfter = await (await fetch(`${base}/metrics`)).text()
    rss.sample()
    rss.state.phase = 'after'
    const afterS = options.afterS ?? MIXED_AFTER_S
    if (afterS > 0 && !options.signal.aborted) await new Promise((resolve) => setTimeout(resolve, afterS * 1000))
    const metricsEnd = afterS > 0 ? await (await fetch(`${base}/metrics`)).text() : ''
    rss.sample()
    return { setup, setupS, requests, failedRequests, checks, checksPassed, samples, errors, arrivals, cpu, load, metricsBefore, metricsAfter, metricsEnd, window, memory }
  } finally {
    rss.stop()
    agent.destroy()
    await child.stop()
  }
}
