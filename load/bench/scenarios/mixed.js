// @ts-check
/**
 * mixed: load/k6/mixed.ts's traffic and thresholds. With a real k6 (K6_BIN, or `k6` on PATH;
 * load/README.md "Installing k6"), `k6 run load/k6/mixed.ts` itself against `serve`, judged by
 * k6's own threshold verdicts from its --summary-export (k6-real.js, k6-summary.js). Without
 * one, a Node stand-in: same phrases and sampler (load/k6/lib/phrases.ts, imported as is), same
 * defaults and thresholds (read from mixed.ts by k6-mixed-settings.js), same setup and executor
 * (k6-mixed-run.js). Either way the service's RSS is sampled from its spawn. When a threshold is
 * missed in the stand-in run, a second, shorter run with the service under --cpu-prof shows
 * where its main thread went.
 */
import os from 'node:os'
import { profileMarkdown, summarizeNewestProfile } from '../lib/cpu-profile.js'
import { MIXED_AFTER_S, runK6Mixed } from '../lib/k6-mixed-run.js'
import { findK6, runRealK6 } from '../lib/k6-real.js'
import { mixedFigures, thresholdPassed } from '../lib/k6-summary.js'
import { mixedSettings } from '../lib/k6-mixed-settings.js'
import { SERVE_NODE_ARGS } from '../lib/servers.js'
import { fmtBytes, fmtInt, fmtMs, percentileOfSorted } from '../lib/stats.js'
import { subDir } from './context.js'
import { bigCacheCopy, SOAK_RSS_GOAL_BYTES } from './soak.js'

/** Windows of the "over time" table. */
const WINDOW_S = 10
/** Windows of the "service memory over time" table (its largest RSS sample each). */
const MEMORY_WINDOW_S = 20
/** Length of the profiled run (after its own setup) when a threshold is missed. */
const PROFILE_S = 30
/** What the section's title names as the client when no k6 was found. */
const MIXED_CLIENT_STAND_IN = 'Node stand-in'

/** @param {readonly number[]} xs @param {number} p */
function pct(xs, p) {
  return percentileOfSorted([...xs].sort((a, b) => a - b), p)
}

/**
 * Sum of a Prometheus metric's samples (every label set). 0 when absent.
 * @param {string} text @param {string} name
 */
function promSum(text, name) {
  return text
    .split('\n')
    .filter((l) => l.startsWith(name) && (l[name.length] === '{' || l[name.length] === ' '))
    .reduce((sum, l) => sum + Number(l.slice(l.lastIndexOf(' ') + 1)), 0)
}

/** V8 heap total / used, external from a /metrics text ('n/a' when there is none). @param {string} text */
function heapOf(text) {
  if (text === '') return 'n/a'
  return `${fmtBytes(promSum(text, 'nodejs_heap_size_total_bytes'))} / ${fmtBytes(promSum(text, 'nodejs_heap_size_used_bytes'))}, ${fmtBytes(promSum(text, 'nodejs_external_memory_bytes'))}`
}

/**
 * The largest-RSS sample of each MEMORY_WINDOW_S window, plus the last sample of each phase.
 * @param {readonly import('../lib/k6-mixed-run.js').MemorySample[]} memory
 */
function memoryWindows(memory) {
  const byWindow = new Map()
  for (const m of memory) {
    const w = Math.floor(m.t / MEMORY_WINDOW_S)
    if (!byWindow.has(w) || byWindow.get(w).rss < m.rss) byWindow.set(w, m)
  }
  const lastOfPhase = memory.filter((m, i) => memory[i + 1]?.phase !== m.phase)
  return [...new Set([...byWindow.values(), ...lastOfPhase])].sort((a, b) => a.t - b.t)
}

/** @param {number} r */
const fmtPct = (r) => `${(r * 100).toFixed(2)} %`

/** @param {readonly number[]} xs p50 / p95 / p99 / max */
const spread = (xs) => `${fmtMs(pct(xs, 50))} / ${fmtMs(pct(xs, 95))} / ${fmtMs(pct(xs, 99))} / ${fmtMs(xs.length === 0 ? Number.NaN : Math.max(...xs))}`

/**
 * @param {import('./context.js').ScenarioContext} ctx
 * @returns {Promise<import('../lib/report.js').Section>}
 */
export async function mixed(ctx) {
  const shipped = mixedSettings()
  const s = ctx.quick ? { ...shipped, rate: 20, durationS: 5, prewarmTop: 30 } : shipped
  ctx.progress('preparing the cache directory (hard links to the 100k-entry tree when present)')
  const cache = await bigCacheCopy(ctx)
  const k6 = await findK6()
  if (k6.found) return mixedWithRealK6(ctx, s, cache, k6)
  const r = await runK6Mixed(s, { cacheDir: cache.dir, signal: ctx.signal, progress: ctx.progress })
  const rssMax = Math.max(...r.memory.map((m) => m.rss))
  const rssPeak = r.memory.find((m) => m.rss === rssMax)
  const rssEnd = r.memory.at(-1)?.rss ?? Number.NaN
  const rssAt = (/** @type {string} */ p) => r.memory.filter((m) => m.phase === p).map((m) => m.rss)
  const entries = cache.entries > 0 ? `the ${fmtInt(cache.entries)}-entry index` : 'an empty cache (--quick)'

  const of = (/** @type {string[]} */ kinds) => r.samples.filter((x) => kinds.includes(x.cache)).map((x) => x.ms)
  const hitMs = of(['hit'])
  const missMs = of(['rendered', 'coalesced'])
  const count = (/** @type {string} */ kind) => r.samples.filter((x) => x.cache === kind).length
  const answered = r.samples.length
  const hitRate = hitMs.length / Math.max(1, answered)
  const failedRate = r.failedRequests / Math.max(1, r.requests)
  const checksRate = r.checksPassed / Math.max(1, r.checks)
  const missing = count('missing')
  const delta = (/** @type {string} */ name) => promSum(r.metricsAfter, name) - promSum(r.metricsBefore, name)
  const renders = delta('tts_renders_total')
  const meanMs = (/** @type {string} */ histogram) => {
    const n = delta(`${histogram}_count`)
    return n > 0 ? (delta(`${histogram}_sum`) * 1000) / n : Number.NaN
  }
  const engineMs = meanMs('tts_render_duration_seconds')
  const queueMs = meanMs('tts_queue_wait_seconds')
  const loopP99Ms = promSum(r.metricsAfter, 'nodejs_eventloop_lag_p99_seconds') * 1000
  const loopMaxMs = promSum(r.metricsAfter, 'nodejs_eventloop_lag_max_seconds') * 1000
  const lag = [...r.arrivals.lagMs].sort((a, b) => a - b)
  const windows = Array.from({ length: Math.ceil(r.arrivals.wallMs / 1000 / WINDOW_S) }, (_, w) => {
    const inWindow = r.samples.filter((x) => x.atS >= w * WINDOW_S && x.atS < (w + 1) * WINDOW_S)
    const hits = inWindow.filter((x) => x.cache === 'hit').map((x) => x.ms)
    const misses = inWindow.filter((x) => x.cache === 'rendered' || x.cache === 'coalesced').map((x) => x.ms)
    return [`${w * WINDOW_S}–${(w + 1) * WINDOW_S}`, fmtInt(inWindow.length), fmtInt(misses.length), fmtMs(pct(hits, 95)), fmtMs(pct(hits, 99)), fmtMs(pct(misses, 95))]
  })
  const blocked =
    `the service's event loop was blocked up to ${fmtMs(loopMaxMs)} (event-loop delay p99 ${fmtMs(loopP99Ms)} during the run); its renders run ` +
    'in its render host (a niced child process that starts the engine and sox), which shares the 2 cores with it and with this client; ' +
    'the CPU profile below shows where its main thread went.'
  /** @type {import('../lib/report.js').Goal[]} */
  const goals = [
    { name: 'k6 mixed: http_req_failed', target: `< ${fmtPct(s.maxFailedRate)}`, value: fmtPct(failedRate), met: r.requests > 0 ? failedRate < s.maxFailedRate : undefined, why: `errors: ${JSON.stringify(Object.fromEntries(r.errors))}` },
    { name: 'k6 mixed: checks (200 and X-TTS-Cache)', target: `> ${fmtPct(s.minChecksRate)}`, value: fmtPct(checksRate), met: r.checks > 0 ? checksRate > s.minChecksRate : undefined, why: 'see the errors row.' },
    { name: 'k6 mixed: tts_hit_duration p95', target: `< ${s.hitP95Ms} ms`, value: fmtMs(pct(hitMs, 95)), met: hitMs.length > 0 ? pct(hitMs, 95) < s.hitP95Ms : undefined, why: `hits are slow while renders run (see "over time"): ${blocked}` },
    { name: 'k6 mixed: tts_hit_duration p99', target: `< ${s.hitP99Ms} ms`, value: fmtMs(pct(hitMs, 99)), met: hitMs.length > 0 ? pct(hitMs, 99) < s.hitP99Ms : undefined, why: `hits are slow while renders run (see "over time"): ${blocked}` },
    { name: 'k6 mixed: tts_miss_duration p95', target: `< ${fmtInt(s.missP95Ms)} ms`, value: fmtMs(pct(missMs, 95)), met: missMs.length > 0 ? pct(missMs, 95) < s.missP95Ms : undefined, why: `misses arrive faster than renders finish in the first part of the run, so they queue (mean queue wait ${fmtMs(queueMs)}, mean engine run ${fmtMs(engineMs)}); ${blocked}` },
    { name: 'k6 mixed: tts_miss_duration p99', target: `< ${fmtInt(s.missP99Ms)} ms`, value: fmtMs(pct(missMs, 99)), met: missMs.length > 0 ? pct(missMs, 99) < s.missP99Ms : undefined, why: `renders queue: mean queue wait ${fmtMs(queueMs)}.` },
    { name: 'k6 mixed: tts_cache_hit_rate', target: `> ${fmtPct(s.minHitRate)}`, value: fmtPct(hitRate), met: answered > 0 ? hitRate > s.minHitRate : undefined, why: 'each phrase past the pre-warmed top is a miss the first time it is asked.' },
    { name: 'k6 mixed: tts_cache_header_missing', target: '= 0', value: fmtInt(missing), met: answered > 0 ? missing === 0 : undefined, why: 'a 200 without X-TTS-Cache.' },
    {
      name: `k6 mixed: service RSS from its spawn through the load and ${MIXED_AFTER_S} s after it, ${entries}`,
      target: `≤ ${fmtBytes(SOAK_RSS_GOAL_BYTES)} at every sample`,
      value: `max ${fmtBytes(rssMax)} (${rssPeak?.phase ?? 'n/a'}, ${Math.round(rssPeak?.t ?? 0)} s), end ${fmtBytes(rssEnd)}`,
      met: Number.isFinite(rssMax) && cache.entries > 0 && !ctx.quick ? rssMax <= SOAK_RSS_GOAL_BYTES : undefined,
      why: `V8 heap total / used, external at the end of the load: ${heapOf(r.metricsAfter)}; the rest of the RSS is the node binary's pages, stacks, malloc arenas and the watchdog thread's isolate (see "Service memory over time").`,
    },
  ]

  /** @type {string[]} */
  const profiles = []
  /** @type {string[]} */
  const notes = []
  if (r.arrivals.abortedBecause !== undefined) notes.push(`⚠ aborted early, as k6 would (abortOnFail): ${r.arrivals.abortedBecause}`)
  if (goals.some((g) => g.met === false) && !ctx.quick && !ctx.signal.aborted) {
    ctx.progress(`a threshold was missed: the same traffic for ${PROFILE_S} s on a new cache, the service under --cpu-prof`)
    const profDir = subDir(ctx, 'cpu-prof')
    try {
      const profiled = await runK6Mixed({ ...s, durationS: PROFILE_S }, { cacheDir: subDir(ctx, 'cache-profiled'), afterS: 0, nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${profDir}`], signal: ctx.signal, progress: ctx.progress })
      const summary = await summarizeNewestProfile(profDir, 15, profiled.window)
      profiles.push(profileMarkdown(summary, `the service during ${PROFILE_S} s of the same arrivals and the drain of what they left in flight (its pre-warm left out)`))
      const spawn = summary.top.find((f) => f.name === 'spawn')
      if (spawn !== undefined) {
        notes.push(
          `${spawn.selfPct.toFixed(0)} % of the service's main thread went to \`spawn\` (${fmtMs(spawn.selfMs)} of ${fmtMs(summary.totalMs)} profiled): on Linux, Node's child_process forks the whole ` +
            'service synchronously, so each engine or sox start holds the event loop for a time that grows with its memory; hits wait behind it.',
        )
      }
    } catch (err) {
      profiles.push(`(no CPU profile: ${String(err)})`)
    }
  }

  const cores = (/** @type {number} */ c) => c.toFixed(2)
  return {
    id: 'mixed',
    title: `k6 mixed.ts thresholds (${MIXED_CLIENT_STAND_IN})`,
    description:
      `**A Node stand-in for \`k6 run load/k6/mixed.ts\`** against the real \`serve\` (${SERVE_NODE_ARGS.join(' ')}, info log level, real espeak-ng, ${entries}: a hard-linked copy, so the renders go to the copy). ` +
      `No k6 was found (${k6.reason}; load/README.md "Installing k6" says how to get one, and the bench then runs it), so the bench replays the script: ` +
      `the same ${fmtInt(s.phrases)} phrases of the set \`${s.phraseSet}\` over ${s.voices.join(', ')} and the same Zipf(${s.zipfS}) sampler (load/k6/lib/phrases.ts, imported as is; seeded here so runs repeat), ` +
      `the same setup (the top ${s.prewarmTop} pre-warmed through POST /v1/prewarm, polled until done), then \`GET /v1/tts\` at a constant ${s.rate} arrivals/s for ${s.durationS} s ` +
      `(an open model; at most ${s.maxVus} in flight, arrivals beyond that dropped as k6 drops them; ${s.gracefulStopS} s graceful stop), judged by the script's thresholds, read from mixed.ts itself. ` +
      'A request is timed as k6 times http_req_duration: from a connected socket to the last byte of the body. ' +
      `**The client runs on the same ${os.availableParallelism()} cores as the service and its engines** (its share is in the CPU row), where k6 would normally run on another host.`,
    tables: [
      {
        headers: ['metric', 'value'],
        rows: [
          ['load client', `${MIXED_CLIENT_STAND_IN} (no k6: ${k6.reason})`],
          ['setup: pre-warmed (rendered now) / failed, wall time', `${fmtInt(r.setup.done)} (${fmtInt(r.setup.rendered)}) / ${fmtInt(r.setup.failed)}, ${r.setupS.toFixed(1)} s`],
          ['answered 200: hit / rendered / coalesced / no header', `${fmtInt(answered)}: ${fmtInt(hitMs.length)} / ${fmtInt(count('rendered'))} / ${fmtInt(count('coalesced'))} / ${fmtInt(missing)}`],
          ['HTTP requests (setup included) / failed', `${fmtInt(r.requests)} / ${fmtInt(r.failedRequests)}${r.errors.size > 0 ? ` (${[...r.errors].map(([e, n]) => `${e}: ${n}`).join('; ')})` : ''}`],
          ['hit latency p50 / p95 / p99 / max', spread(hitMs)],
          ['miss latency (rendered + coalesced) p50 / p95 / p99 / max', spread(missMs)],
          ['renders during the load / mean engine run (espeak-ng + sox) / mean queue wait', `${fmtInt(renders)} / ${fmtMs(engineMs)} / ${fmtMs(queueMs)}`],
          ["service's event-loop delay during the load p99 / max", `${fmtMs(loopP99Ms)} / ${fmtMs(loopMaxMs)}`],
          ['dropped iterations / interrupted at the graceful stop / most in flight', `${fmtInt(r.arrivals.dropped)} / ${fmtInt(r.arrivals.interrupted)} / ${fmtInt(r.arrivals.maxInFlight)}`],
          ['client lateness starting an arrival p99 / max', `${fmtMs(percentileOfSorted(lag, 99))} / ${fmtMs(lag.at(-1) ?? Number.NaN)}`],
          ['CPU cores busy: whole machine / service / its render host and engines (espeak-ng, sox) / this client', `${cores(r.cpu.machineCores)} / ${cores(r.cpu.serviceCores)} / ${cores(r.cpu.enginesCores)} / ${cores(r.cpu.clientCores)}`],
          ['load average (1 / 5 / 15 min) before → after the load', `${r.load.start.map((l) => l.toFixed(2)).join(' ')} → ${r.load.end.map((l) => l.toFixed(2)).join(' ')}`],
          [
            `service RSS (/proc, every second from the spawn; ${entries}): start-up and index scan / setup / load / ${MIXED_AFTER_S} s idle after max, at the end`,
            `${fmtBytes(Math.max(...rssAt('start')))} / ${fmtBytes(Math.max(...rssAt('setup')))} / ${fmtBytes(Math.max(...rssAt('load')))} / ${fmtBytes(Math.max(...rssAt('after')))}, ${fmtBytes(rssEnd)}`,
          ],
          ['V8 heap total / used, external (its /metrics) before the load → after it → at the end', [r.metricsBefore, r.metricsAfter, r.metricsEnd].map(heapOf).join(' → ')],
        ],
      },
      { caption: `over time (${WINDOW_S} s windows)`, headers: ['s', 'answered', 'misses', 'hit p95', 'hit p99', 'miss p95'], rows: windows },
      {
        caption: `Service memory over time (t from the spawn; /proc every second, the largest RSS of each ${MEMORY_WINDOW_S} s window)`,
        headers: ['s', 'phase', 'RSS', 'of it anonymous', 'of it file-backed'],
        rows: memoryWindows(r.memory).map((m) => [fmtInt(Math.round(m.t)), m.phase, fmtBytes(m.rss), fmtBytes(m.anon), fmtBytes(m.rss - m.anon)]),
      },
    ],
    goals,
    notes,
    profiles,
    raw: {
      settings: s,
      setup: r.setup,
      setupS: r.setupS,
      requests: r.requests,
      failedRequests: r.failedRequests,
      checks: r.checks,
      checksPassed: r.checksPassed,
      counts: { hit: hitMs.length, rendered: count('rendered'), coalesced: count('coalesced'), missing },
      arrivals: { ...r.arrivals, lagMs: undefined },
      cpu: r.cpu,
      load: r.load,
      renders,
      engineMs,
      queueMs,
      loopP99Ms,
      loopMaxMs,
      memory: r.memory,
      entries: cache.entries,
    },
  }
}

/**
 * The same section from a real k6's run of mixed.ts: its thresholds as k6 judged them (from its
 * --summary-export), the service's RSS from /proc around it as in the stand-in run.
 * @param {import('./context.js').ScenarioContext} ctx
 * @param {import('../lib/k6-mixed-settings.js').MixedSettings} s
 * @param {{ dir: string, entries: number }} cache
 * @param {{ bin: string, version: string }} k6
 * @returns {Promise<import('../lib/report.js').Section>}
 */
async function mixedWithRealK6(ctx, s, cache, k6) {
  const env = ctx.quick ? { RATE: s.rate, DURATION: `${s.durationS}s`, PREWARM_TOP: s.prewarmTop } : undefined
  const r = await runRealK6(k6, s, { cacheDir: cache.dir, workDir: ctx.workDir, signal: ctx.signal, progress: ctx.progress, ...(env === undefined ? {} : { env }) })
  const f = mixedFigures(r.summary)
  const entries = cache.entries > 0 ? `the ${fmtInt(cache.entries)}-entry index` : 'an empty cache (--quick)'
  const rssMax = Math.max(...r.memory.map((m) => m.rss))
  const rssPeak = r.memory.find((m) => m.rss === rssMax)
  const rssEnd = r.memory.at(-1)?.rss ?? Number.NaN
  const rssAt = (/** @type {string} */ p) => Math.max(...r.memory.filter((m) => m.phase === p).map((m) => m.rss))
  const delta = (/** @type {string} */ name) => promSum(r.metricsAfter, name) - promSum(r.metricsBefore, name)
  const verdict = (/** @type {string} */ metric, /** @type {string} */ prefix = '') => thresholdPassed(r.summary, metric, (e) => e.startsWith(prefix))
  const heap = (/** @type {string} */ text) =>
    `${fmtBytes(promSum(text, 'nodejs_heap_size_total_bytes'))} / ${fmtBytes(promSum(text, 'nodejs_heap_size_used_bytes'))}, ${fmtBytes(promSum(text, 'nodejs_external_memory_bytes'))}`
  const ms3 = (/** @type {{ p50: number, p95: number, p99: number, max: number }} */ x) => `${fmtMs(x.p50)} / ${fmtMs(x.p95)} / ${fmtMs(x.p99)} / ${fmtMs(x.max)}`
  const client = `k6 ${k6.version}`
  /** @type {import('../lib/report.js').Goal[]} */
  const goals = [
    { name: 'k6 mixed: http_req_failed', target: `< ${fmtPct(s.maxFailedRate)}`, value: fmtPct(f.failedRate), met: verdict('http_req_failed') },
    { name: 'k6 mixed: checks (200 and X-TTS-Cache)', target: `> ${fmtPct(s.minChecksRate)}`, value: fmtPct(f.checksRate), met: verdict('checks') },
    { name: 'k6 mixed: tts_hit_duration p95', target: `< ${s.hitP95Ms} ms`, value: fmtMs(f.hit.p95), met: verdict('tts_hit_duration', 'p(95)') },
    { name: 'k6 mixed: tts_hit_duration p99', target: `< ${s.hitP99Ms} ms`, value: fmtMs(f.hit.p99), met: verdict('tts_hit_duration', 'p(99)') },
    { name: 'k6 mixed: tts_miss_duration p95', target: `< ${fmtInt(s.missP95Ms)} ms`, value: fmtMs(f.miss.p95), met: verdict('tts_miss_duration', 'p(95)') },
    { name: 'k6 mixed: tts_miss_duration p99', target: `< ${fmtInt(s.missP99Ms)} ms`, value: fmtMs(f.miss.p99), met: verdict('tts_miss_duration', 'p(99)') },
    { name: 'k6 mixed: tts_cache_hit_rate', target: `> ${fmtPct(s.minHitRate)}`, value: fmtPct(f.hitRate), met: verdict('tts_cache_hit_rate') },
    // Never incremented, the counter is absent from k6's export (and so is its verdict): 0, met.
    { name: 'k6 mixed: tts_cache_header_missing', target: '= 0', value: fmtInt(f.counts.missing), met: verdict('tts_cache_header_missing') ?? f.counts.missing === 0 },
    {
      name: `k6 mixed: service RSS from its spawn through the load, ${entries}`,
      target: `≤ ${fmtBytes(SOAK_RSS_GOAL_BYTES)} at every sample`,
      value: `max ${fmtBytes(rssMax)} (${rssPeak?.phase ?? 'n/a'}, ${Math.round(rssPeak?.t ?? 0)} s), end ${fmtBytes(rssEnd)}`,
      met: Number.isFinite(rssMax) && cache.entries > 0 && !ctx.quick ? rssMax <= SOAK_RSS_GOAL_BYTES : undefined,
      why: `V8 heap at the end: total / used, external ${heap(r.metricsAfter)}.`,
    },
  ]
  const profiles = goals.some((g) => g.met === false) && !ctx.quick && !ctx.signal.aborted ? await profileRealK6(ctx, s, k6) : []
  return {
    id: 'mixed',
    title: `k6 mixed.ts thresholds (${client})`,
    description:
      `**\`k6 run load/k6/mixed.ts\` with a real k6 (${client}, \`${k6.bin}\`)** against the real \`serve\` (${SERVE_NODE_ARGS.join(' ')}, info log level, real espeak-ng, ${entries}: a hard-linked copy). ` +
      `The script as shipped${env === undefined ? '' : ` (quick run: ${Object.entries(env).map(([k, v]) => `-e ${k}=${v}`).join(' ')})`}: its setup pre-warms the top ${s.prewarmTop} phrases, then \`GET /v1/tts\` at ${s.rate} arrivals/s for ${s.durationS} s; ` +
      "every verdict below is k6's own, read from its `--summary-export` file (k6 draws phrases with `Math.random`, so two runs ask different sequences). " +
      `**k6 runs on the same ${os.availableParallelism()} cores as the service and its engines**, where it would normally run on another host.`,
    tables: [
      {
        headers: ['metric', 'value'],
        rows: [
          ['load client', `${client} (${k6.bin}), exit code ${r.k6.exitCode ?? r.k6.signal} (99: a threshold failed)`],
          ['k6 run wall time (setup included) / setup until its pre-warm was logged done', `${r.wallS.toFixed(1)} s / ${r.setupS === undefined ? 'not logged' : `${r.setupS.toFixed(1)} s`}`],
          ['answered 200 with a cache status (tts_cache_hit_rate samples): hit / rendered / coalesced / no header', `${fmtInt(f.answered)}: ${fmtInt(f.counts.hit)} / ${fmtInt(f.counts.rendered)} / ${fmtInt(f.counts.coalesced)} / ${fmtInt(f.counts.missing)}`],
          ['HTTP requests (setup included) / failed', `${fmtInt(f.requests)} / ${fmtInt(f.failedRequests)}`],
          ['checks passed / run', `${fmtInt(f.checksPassed)} / ${fmtInt(f.checks)}`],
          ['tts_hit_duration med / p95 / p99 / max', ms3(f.hit)],
          ['tts_miss_duration med / p95 / p99 / max', ms3(f.miss)],
          ['dropped iterations / most VUs', `${fmtInt(f.droppedIterations)} / ${fmtInt(f.vusMax)}`],
          ['renders during the k6 run (its setup included)', fmtInt(delta('tts_renders_total'))],
          ['load average (1 / 5 / 15 min) before → after k6', `${r.load.start.map((l) => l.toFixed(2)).join(' ')} → ${r.load.end.map((l) => l.toFixed(2)).join(' ')}`],
          [`service RSS (/proc, every second from the spawn; ${entries}): start-up / k6 setup / k6 load max, at the end`, `${fmtBytes(rssAt('start'))} / ${fmtBytes(rssAt('setup'))} / ${fmtBytes(rssAt('load'))}, ${fmtBytes(rssEnd)}`],
          ['V8 heap total / used, external (its /metrics) before → after k6', `${heap(r.metricsBefore)} → ${heap(r.metricsAfter)}`],
        ],
      },
      { caption: "k6's thresholds (from its summary export)", headers: ['metric', 'threshold', 'verdict'], rows: r.summary.thresholds.map((t) => [t.metric, t.expression, t.passed ? 'passed' : 'FAILED']) },
    ],
    goals,
    notes: goals.some((g) => g.met === false) ? ['k6 judged a threshold failed: its log (last lines) is in results.json (raw.k6.stderrTail).'] : [],
    profiles,
    raw: { settings: s, client: 'k6', k6: r.k6, summary: r.summary, figures: f, wallS: r.wallS, setupS: r.setupS, load: r.load, memory: r.memory, entries: cache.entries },
  }
}

/**
 * After a missed threshold: the same k6 run for PROFILE_S on a new cache, the service under
 * --cpu-prof, its profile cut to k6's load (from its logged pre-warm done to its exit).
 * @param {import('./context.js').ScenarioContext} ctx
 * @param {import('../lib/k6-mixed-settings.js').MixedSettings} s
 * @param {{ bin: string, version: string }} k6
 * @returns {Promise<string[]>}
 */
export async function profileRealK6(ctx, s, k6) {
  ctx.progress(`a threshold was missed: k6 again for ${PROFILE_S} s on a new cache, the service under --cpu-prof`)
  const profDir = subDir(ctx, 'cpu-prof')
  try {
    const nodeArgs = ['--cpu-prof', `--cpu-prof-dir=${profDir}`]
    const profiled = await runRealK6(k6, { ...s, durationS: PROFILE_S }, { cacheDir: subDir(ctx, 'cache-profiled'), workDir: ctx.workDir, env: { DURATION: `${PROFILE_S}s` }, nodeArgs, signal: ctx.signal, progress: ctx.progress })
    const summary = await summarizeNewestProfile(profDir, 15, profiled.window)
    return [profileMarkdown(summary, `the service during ${PROFILE_S} s of k6's load and the drain of what it left in flight (its pre-warm left out when k6 logged its end)`)]
  } catch (err) {
    return [`(no CPU profile: ${String(err)})`]
  }
}
