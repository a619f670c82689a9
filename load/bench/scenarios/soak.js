// @ts-check
/**
 * Soak: the real `serve` (as deployed, with the V8 flag bootstrap.sh uses) under steady mixed
 * load — simulated FreeSWITCH channels on the ESL hook and HTTP hits, at the same time — for
 * five minutes after a warm-up, its RSS sampled every few seconds. The goal: RSS flat (within
 * ±10 % of the value right after the warm-up). The baseline is the process itself after warm-up.
 *
 * The warm-up lasts at least 30 s, until V8 has run two full (mark-compact) collections under
 * this load and until the RSS has set no new high-water mark (more than 1 % above the last) for
 * 30 s; at most 180 s. V8 sizes the old generation from what survives its full collections (the
 * next limit is a multiple of the live size) and RSS keeps the heap's high-water mark, so the
 * first minute of load steps the RSS up once (a run measured 153 → 203 MiB between 0 and 30 s,
 * then flat to ±1 % for 270 s). Two collections alone were not always enough to see that step.
 * A leak never plateaus: the warm-up then runs its 180 s and the soak shows the climb.
 */
import path from 'node:path'
import { pathToFileURL } from 'node:url'
// @ts-ignore autocannon ships no type declarations
import autocannon from 'autocannon'
import { freePort, rssOf, SERVE_NODE_ARGS, startServe, waitForHttp } from '../lib/servers.js'
import { fmtBytes, fmtInt } from '../lib/stats.js'
import { subDir } from './context.js'

export const SOAK_FLATNESS = 0.1

/**
 * The V8 heap (total, used) and external memory from the service's own /metrics (prom-client's
 * process metrics): tells a heap that grew from memory outside it.
 * @param {number} port
 * @returns {Promise<{ heapTotal: number, heapUsed: number, external: number }>}
 */
async function heapOf(port) {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text()
  const value = (/** @type {string} */ name) => Number(new RegExp(`^${name} ([\\d.e+]+)$`, 'm').exec(text)?.[1] ?? Number.NaN)
  return { heapTotal: value('nodejs_heap_size_total_bytes'), heapUsed: value('nodejs_heap_size_used_bytes'), external: value('nodejs_external_memory_bytes') }
}

/**
 * Full (mark-compact) collections so far, from prom-client's `nodejs_gc_duration_seconds` in /metrics.
 * @param {number} port
 * @returns {Promise<number>}
 */
async function majorGcsOf(port) {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text()
  return Number(/^nodejs_gc_duration_seconds_count\{kind="major"\} (\d+)$/m.exec(text)?.[1] ?? 0)
}

/** Warm-up bounds (s) and the full collections it waits for (see the file comment). */
const WARMUP_MIN_S = 30
const WARMUP_MAX_S = 180
const WARMUP_MAJOR_GCS = 2
/** The RSS has plateaued when no sample in this many seconds rose more than WARMUP_RSS_STEP above the high-water mark before it. */
const WARMUP_PLATEAU_S = 30
const WARMUP_RSS_STEP = 0.01

/**
 * @param {import('./context.js').ScenarioContext} ctx
 * @returns {Promise<import('../lib/report.js').Section>}
 */
export async function soak(ctx) {
  const warmupS = ctx.quick ? 2 : WARMUP_MIN_S
  const warmupMaxS = ctx.quick ? 2 : WARMUP_MAX_S
  const soakS = ctx.quick ? 4 : 300
  const windowS = ctx.quick ? 1 : 5
  const phrases = ctx.quick ? 5 : 50
  /** @type {{ runEslLoad: (o: Record<string, unknown>) => Promise<any>, phraseText: (prefix: string, rank: number) => string }} */
  const { runEslLoad, phraseText } = await import(pathToFileURL(path.join(ctx.repoRoot, 'load/esl-load.ts')).href)
  const prefix = `soak ${Date.now().toString(36)}`
  const httpPort = await freePort()
  const eslPort = await freePort()
  const child = startServe({
    nodeArgs: SERVE_NODE_ARGS,
    env: { TTS_CACHE_DIR: subDir(ctx, 'cache'), TTS_HTTP_HOST: '127.0.0.1', TTS_HTTP_PORT: String(httpPort), TTS_ESL_HOST: '127.0.0.1', TTS_ESL_PORT: String(eslPort), TTS_LOG_LEVEL: 'info' },
  })
  /** @type {{ t: number, rss: number, heapTotal: number, heapUsed: number, external: number, calls: number, requests: number }[]} */
  const samples = []
  let calls = 0
  let requests = 0
  let failures = 0
  let warmedS = 0
  let warmupGcs = 0
  /** @type {{ t: number, rss: number }[]} RSS after each warm-up window, reported so the step it waits out is visible. */
  const warmup = []
  try {
    await waitForHttp(`http://127.0.0.1:${httpPort}/readyz`, child)
    const urls = Array.from({ length: 5 }, (_, rank) => `http://127.0.0.1:${httpPort}/v1/tts?text=${encodeURIComponent(phraseText(prefix, rank))}`)
    /** One window of mixed load: ESL channels and HTTP hits at once. */
    const window = async (/** @type {number} */ seconds, /** @type {number} */ seed) => {
      const [esl, http] = await Promise.all([
        runEslLoad({ port: eslPort, channels: 50, phrases, zipfS: 1.1, durationMs: seconds * 1000, textPrefix: prefix, deadlineMs: 20_000, seed }),
        autocannon({ url: urls[seed % urls.length], connections: 16, duration: seconds, pipelining: 1 }),
      ])
      calls += esl.completed
      failures += esl.failed + http.non2xx + http.errors + http.timeouts
      requests += http.requests.total
    }
    ctx.progress(`warm-up, ${warmupS}–${warmupMaxS} s: renders the ${phrases} phrases, until V8 has run ${WARMUP_MAJOR_GCS} full collections and the RSS plateaus (not measured)`)
    let peak = rssOf(child.pid)
    let peakS = 0
    const plateauS = ctx.quick ? 0 : WARMUP_PLATEAU_S
    for (; warmedS < warmupMaxS && !ctx.signal.aborted; warmedS += windowS) {
      const settled = warmedS >= warmupS && warmedS - peakS >= plateauS
      if (settled && (ctx.quick || (await majorGcsOf(httpPort)) >= WARMUP_MAJOR_GCS)) break
      await window(windowS, warmedS)
      const rss = rssOf(child.pid)
      warmup.push({ t: warmedS + windowS, rss })
      if (rss > peak * (1 + WARMUP_RSS_STEP)) peakS = warmedS + windowS
      peak = Math.max(peak, rss)
    }
    warmupGcs = await majorGcsOf(httpPort)
    const started = performance.now()
    samples.push({ t: 0, rss: rssOf(child.pid), ...(await heapOf(httpPort)), calls, requests })
    while ((performance.now() - started) / 1000 < soakS && !ctx.signal.aborted) {
      await window(windowS, samples.length)
      samples.push({ t: (performance.now() - started) / 1000, rss: rssOf(child.pid), ...(await heapOf(httpPort)), calls, requests })
      if (samples.length % 6 === 0) ctx.progress(`${Math.round(samples.at(-1)?.t ?? 0)} s: RSS ${fmtBytes(samples.at(-1)?.rss ?? 0)}`)
    }
  } finally {
    await child.stop()
  }

  const base = samples[0]?.rss ?? Number.NaN
  const rss = samples.map((s) => s.rss)
  const max = Math.max(...rss)
  const min = Math.min(...rss)
  const end = rss.at(-1) ?? Number.NaN
  const deviation = Math.max(max / base - 1, 1 - min / base)
  const seconds = samples.at(-1)?.t ?? 0
  const measuredCalls = calls - (samples[0]?.calls ?? 0)
  const measuredRequests = requests - (samples[0]?.requests ?? 0)
  const every = Math.max(1, Math.floor(samples.length / 10))
  return {
    id: 'soak',
    title: `Soak: RSS over ${Math.round(seconds)} s of mixed ESL and HTTP load`,
    description:
      `The real \`serve\` (${SERVE_NODE_ARGS.join(' ')}, info log level) with 50 simulated FreeSWITCH channels back to back on the ESL hook ` +
      `(Zipf over ${phrases} phrases) and 16 HTTP connections of hits at the same time, in ${windowS} s windows; RSS read from /proc ` +
      `after each window. Warm-up first: the phrases get rendered and the JIT settles, for at least ${warmupS} s, until V8 has run ` +
      `${WARMUP_MAJOR_GCS} full (mark-compact) collections under this load and until the RSS has set no new high-water mark ` +
      `(over ${WARMUP_RSS_STEP * 100} % above the last) for ${WARMUP_PLATEAU_S} s, at most ${warmupMaxS} s — V8 sizes the old generation ` +
      `from what survives its full collections, and RSS keeps the heap's high-water mark, so the first minute of load steps the RSS up ` +
      `once. A leak never plateaus: the warm-up would run its ${warmupMaxS} s and the soak show the climb. ` +
      `The RSS right after the warm-up is the baseline.`,
    tables: [
      {
        headers: ['metric', 'value'],
        rows: [
          ['warm-up', `${warmedS} s (${warmupGcs} full collections by its end)`],
          ['RSS during the warm-up (every 10 s)', warmup.filter((w) => w.t % 10 === 0).map((w) => fmtBytes(w.rss)).join(' → ') || 'n/a'],
          ['RSS after warm-up (baseline)', fmtBytes(base)],
          ['RSS min / max / at the end', `${fmtBytes(min)} / ${fmtBytes(max)} / ${fmtBytes(end)}`],
          ['largest deviation from the baseline', `${(deviation * 100).toFixed(1)} %`],
          ['ESL calls / HTTP requests during the soak', `${fmtInt(measuredCalls)} / ${fmtInt(measuredRequests)}`],
          ['failed calls + non-2xx + errors (whole run)', fmtInt(failures)],
        ],
      },
      {
        caption: 'RSS over time',
        headers: ['s', 'RSS', 'V8 heap total', 'V8 heap used', 'external'],
        rows: samples
          .filter((_, i) => i % every === 0 || i === samples.length - 1)
          .map((s) => [fmtInt(Math.round(s.t)), fmtBytes(s.rss), fmtBytes(s.heapTotal), fmtBytes(s.heapUsed), fmtBytes(s.external)]),
      },
    ],
    goals: [
      {
        name: `RSS flat over a ${Math.round(soakS / 60)}-minute ESL + HTTP soak`,
        target: `within ±${SOAK_FLATNESS * 100} %`,
        value: `${(deviation * 100).toFixed(1)} %`,
        met: Number.isFinite(deviation) ? deviation <= SOAK_FLATNESS && !ctx.quick : undefined,
        why: 'see the RSS over time: a steady climb is a leak; a step after warm-up is heap sizing.',
      },
    ],
    raw: { samples, warmup, failures, warmedS, warmupGcs },
  }
}
