// @ts-check
/**
 * Soak: the real `serve` (as deployed, with the V8 flag bootstrap.sh uses) on the 100,000-entry
 * cache (a hard-linked copy of the 100k tree, load/bench/lib/big-cache.js) under steady mixed
 * load — simulated FreeSWITCH channels on the ESL hook and HTTP hits, at the same time — for five
 * minutes, then idle for a few seconds. Memory is sampled from the moment the process is
 * spawned: nothing is left out as warm-up (issue 19: "during and after", no warm-up excluded).
 *
 * Each sample: RSS from /proc (the service process alone; its render host, a child process,
 * beside it), and from the service's own /metrics the V8 heap (total, used, new space) and
 * external memory (Buffers and other off-heap allocations V8 is told about) — what holds the
 * RSS. The goals: RSS ≤ 150 MiB at every sample and at the end; and flat — RSS within ±10 % of
 * the first sample taken under load for the rest of the run (a leak climbs; heap sizing steps once).
 * The load starts once the whole index is loaded (/readyz's `index` check done; sampled every
 * second until then), so that first sample is the service with its 100k entries.
 */
import { execFile } from 'node:child_process'
import { appendFileSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import { promisify } from 'node:util'
// @ts-ignore autocannon ships no type declarations
import autocannon from 'autocannon'
import { BIG_CACHE_DIR, ensureBigCache } from '../lib/big-cache.js'
import { freePort, rssOf, SERVE_ENV, SERVE_NODE_ARGS, startServe, waitForHttp, waitForIndex } from '../lib/servers.js'
import { fmtBytes, fmtInt } from '../lib/stats.js'
import { subDir } from './context.js'

export const SOAK_FLATNESS = 0.1
/** Issue 19, goal 4: RSS with the 100k-entry index, during and after the load. */
export const SOAK_RSS_GOAL_BYTES = 150 * 1024 * 1024


/**
 * From the service's /metrics (prom-client's process metrics): V8 heap total / used, its new
 * space (the semi-spaces), and external memory. NaN where the scrape fails (the process is busy
 * starting): the sample keeps its RSS.
 * @param {number} port
 * @returns {Promise<{ heapTotal: number, heapUsed: number, newSpace: number, external: number }>}
 */
async function heapOf(port) {
  try {
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(2000) })).text()
    const value = (/** @type {string} */ name) => Number(new RegExp(`^${name} ([\\d.e+]+)$`, 'm').exec(text)?.[1] ?? Number.NaN)
    return {
      heapTotal: value('nodejs_heap_size_total_bytes'),
      heapUsed: value('nodejs_heap_size_used_bytes'),
      newSpace: value('nodejs_heap_space_size_total_bytes\\{space="new"\\}'),
      external: value('nodejs_external_memory_bytes'),
    }
  } catch {
    return { heapTotal: Number.NaN, heapUsed: Number.NaN, newSpace: Number.NaN, external: Number.NaN }
  }
}

/**
 * The RSS split from /proc/<pid>/smaps_rollup: anonymous (V8's heaps, malloc arenas, stacks:
 * what the settings bound) and file-backed (the node binary's and libraries' pages).
 * @param {number} pid
 */
function rssSplitOf(pid) {
  try {
    const text = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8')
    const kb = (/** @type {string} */ name) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? Number.NaN) * 1024
    return { anon: kb('Anonymous'), fileBacked: kb('Rss') - kb('Anonymous') }
  } catch {
    return { anon: Number.NaN, fileBacked: Number.NaN }
  }
}

/** RSS of the service's children (the render host), from /proc. */
function childrenRssOf(/** @type {number} */ pid) {
  try {
    const listed = readFileSync(`/proc/${pid}/task/${pid}/children`, 'latin1').trim()
    return listed === '' ? 0 : listed.split(/\s+/).reduce((sum, c) => sum + (rssOf(Number(c)) || 0), 0)
  } catch {
    return Number.NaN
  }
}

/**
 * The cache directory for the run: a hard-linked copy of the 100k tree (generated first when
 * missing; new renders then go to the copy only: the store publishes by rename, never writes a
 * file in place). A --quick run uses an empty directory.
 * @param {import('./context.js').ScenarioContext} ctx
 */
export async function bigCacheCopy(ctx) {
  const dir = subDir(ctx, 'cache')
  if (ctx.quick) return { dir, entries: 0 }
  const tree = await ensureBigCache(BIG_CACHE_DIR, ctx.signal)
  const copy = path.join(ctx.workDir, 'cache-100k')
  // -H: follow BIG_CACHE_DIR itself when it is a symbolic link to the tree.
  await promisify(execFile)('cp', ['-alH', tree.dir, copy], { timeout: 300_000 })
  return { dir: copy, entries: tree.entries }
}

/**
 * @typedef {{ t: number, phase: 'start' | 'load' | 'after', rss: number, anon: number, fileBacked: number, hostRss: number, heapTotal: number, heapUsed: number, newSpace: number, external: number, calls: number, requests: number }} SoakSample
 */

/**
 * @param {import('./context.js').ScenarioContext} ctx
 * @returns {Promise<import('../lib/report.js').Section>}
 */
export async function soak(ctx) {
  const soakS = ctx.quick ? 4 : 300
  const afterS = ctx.quick ? 2 : 15
  const windowS = ctx.quick ? 1 : 5
  const phrases = ctx.quick ? 5 : 50
  /** @type {{ runEslLoad: (o: Record<string, unknown>) => Promise<any>, phraseText: (prefix: string, rank: number) => string }} */
  const { runEslLoad, phraseText } = await import(pathToFileURL(path.join(ctx.repoRoot, 'load/esl-load.ts')).href)
  const prefix = `soak ${Date.now().toString(36)}`
  const httpPort = await freePort()
  const eslPort = await freePort()
  ctx.progress('preparing the cache directory (hard links to the 100k-entry tree when present)')
  const cache = await bigCacheCopy(ctx)
  const child = startServe({
    env: { TTS_CACHE_DIR: cache.dir, TTS_HTTP_HOST: '127.0.0.1', TTS_HTTP_PORT: String(httpPort), TTS_ESL_HOST: '127.0.0.1', TTS_ESL_PORT: String(eslPort), TTS_LOG_LEVEL: 'info' },
  })
  const spawnedAt = performance.now()
  /** @type {SoakSample[]} */
  const samples = []
  let calls = 0
  let requests = 0
  let failures = 0
  let phase = /** @type {SoakSample['phase']} */ ('start')
  /** @type {string | undefined} the service's last output, when it exited during the run */
  let died
  const samplesFile = path.join(ctx.workDir, 'soak-samples.jsonl')
  const sample = async () => {
    if (died !== undefined) return
    let rss
    try {
      rss = rssOf(child.pid)
    } catch {
      died = child.output().slice(-1500)
      return
    }
    const hostRss = childrenRssOf(child.pid)
    const s = { t: (performance.now() - spawnedAt) / 1000, phase, rss, ...rssSplitOf(child.pid), hostRss, ...(await heapOf(httpPort)), calls, requests }
    samples.push(s)
    // Kept as they come, so a run cut short still shows its memory.
    appendFileSync(samplesFile, `${JSON.stringify(s)}\n`)
  }
  // From t = 0: one sample a second until the load starts (start-up, index scan), then one per window.
  const startSampler = setInterval(() => void sample(), 1000)
  let readyS = Number.NaN
  let indexedS = Number.NaN
  try {
    await sample()
    await waitForHttp(`http://127.0.0.1:${httpPort}/readyz`, child)
    readyS = (performance.now() - spawnedAt) / 1000
    // The load starts on the whole index (the service answers while it scans; the samples
    // above cover that): the flatness check then compares the loaded service with itself.
    await waitForIndex(`http://127.0.0.1:${httpPort}/readyz`)
    indexedS = (performance.now() - spawnedAt) / 1000
    clearInterval(startSampler)
    await sample()
    const urls = Array.from({ length: 5 }, (_, rank) => `http://127.0.0.1:${httpPort}/v1/tts?text=${encodeURIComponent(phraseText(prefix, rank))}`)
    phase = 'load'
    const loadStarted = performance.now()
    for (let w = 0; (performance.now() - loadStarted) / 1000 < soakS && !ctx.signal.aborted && died === undefined; w++) {
      const [esl, http] = await Promise.all([
        runEslLoad({ port: eslPort, channels: 50, phrases, zipfS: 1.1, durationMs: windowS * 1000, textPrefix: prefix, deadlineMs: 20_000, seed: w }),
        autocannon({ url: urls[w % urls.length], connections: 16, duration: windowS, pipelining: 1 }),
      ])
      calls += esl.completed
      failures += esl.failed + http.non2xx + http.errors + http.timeouts
      requests += http.requests.total
      await sample()
      if (w % 6 === 5) ctx.progress(`${Math.round((performance.now() - loadStarted) / 1000)} s of load: RSS ${fmtBytes(samples.at(-1)?.rss ?? 0)}`)
    }
    phase = 'after'
    for (let i = 0; i < afterS && !ctx.signal.aborted && died === undefined; i++) {
      await new Promise((resolve) => setTimeout(resolve, 1000))
      await sample()
    }
  } finally {
    clearInterval(startSampler)
    await child.stop()
  }
  return soakSection(ctx, { samples, readyS, indexedS, cache, failures, calls, requests, soakS, windowS, phrases, died })
}

/**
 * @param {import('./context.js').ScenarioContext} ctx
 * @param {{ samples: SoakSample[], readyS: number, indexedS: number, cache: { entries: number }, failures: number, calls: number, requests: number, soakS: number, windowS: number, phrases: number, died: string | undefined }} r
 * @returns {import('../lib/report.js').Section}
 */
function soakSection(ctx, r) {
  const { samples } = r
  const rss = samples.map((s) => s.rss).filter((x) => Number.isFinite(x))
  const max = Math.max(...rss)
  const peak = samples.find((s) => s.rss === max)
  const end = samples.at(-1)?.rss ?? Number.NaN
  const loaded = samples.filter((s) => s.phase === 'load')
  const base = loaded[0]?.rss ?? Number.NaN
  const deviation = Math.max(...loaded.map((s) => Math.abs(s.rss / base - 1)))
  const every = Math.max(1, Math.floor(samples.length / 16))
  const lastOf = (/** @type {SoakSample['phase']} */ p) => samples.map((s) => s.phase).lastIndexOf(p)
  const shown = samples.filter((s, i) => i % every === 0 || s === peak || i === lastOf('start') || i === samples.length - 1)
  const seconds = loaded.length === 0 ? 0 : (loaded.at(-1)?.t ?? 0) - (samples[lastOf('start')]?.t ?? 0)
  const entries = r.cache.entries > 0 ? `${fmtInt(r.cache.entries)}-entry index` : 'an empty cache (--quick)'
  return {
    id: 'soak',
    title: `Soak: RSS from start-up through ${Math.round(seconds)} s of mixed ESL and HTTP load, ${entries}`,
    description:
      `The real \`serve\` as deployed (${SERVE_NODE_ARGS.join(' ')}, ${Object.entries(SERVE_ENV).map(([k, v]) => `${k}=${v}`).join(' ')}; info log level) on ${entries}, with 50 simulated FreeSWITCH channels back to ` +
      `back on the ESL hook (Zipf over ${r.phrases} new phrases: they are rendered during the run) and 16 HTTP connections of hits at ` +
      `the same time, in ${r.windowS} s windows, then idle. Memory sampled from the spawn of the process (every second until its whole index is ` +
      'loaded — the load starts then —, then after each window, then every second idle): nothing is excluded as warm-up. RSS from /proc, split into anonymous ' +
      'memory and file-backed pages (smaps_rollup); V8 heap, new space ' +
      'and external from the service\'s /metrics (n/a while it cannot answer). The render host is a separate process (its RSS shown ' +
      'beside, not in the goal).',
    tables: [
      {
        headers: ['metric', 'value'],
        rows: [
          ['ready (/readyz 200) / whole index loaded (the load starts then) after', `${r.readyS.toFixed(1)} s / ${r.indexedS.toFixed(1)} s`],
          ['RSS max (at)', `${fmtBytes(max)} (${peak?.phase ?? 'n/a'}, ${Math.round(peak?.t ?? 0)} s)`],
          ['RSS at the end (idle after the load)', fmtBytes(end)],
          ['RSS under load: first / last sample; largest deviation from the first', `${fmtBytes(base)} / ${fmtBytes(loaded.at(-1)?.rss ?? Number.NaN)}; ${(deviation * 100).toFixed(1)} %`],
          ['ESL calls / HTTP requests', `${fmtInt(r.calls)} / ${fmtInt(r.requests)}`],
          ['failed calls + non-2xx + errors', fmtInt(r.failures)],
          ...(r.died === undefined ? [] : [['**the service exited during the run**; its last output', r.died.replace(/\s+/g, ' ').slice(-600)]]),
        ],
      },
      {
        caption: 'Memory over time (t from the spawn)',
        headers: ['s', 'phase', 'RSS', 'of it anonymous', 'of it file-backed', 'V8 heap total', 'V8 heap used', 'of it new space', 'external', 'render host RSS'],
        rows: shown.map((s) => [fmtInt(Math.round(s.t)), s.phase, fmtBytes(s.rss), fmtBytes(s.anon), fmtBytes(s.fileBacked), fmtBytes(s.heapTotal), fmtBytes(s.heapUsed), fmtBytes(s.newSpace), fmtBytes(s.external), fmtBytes(s.hostRss)]),
      },
    ],
    goals: [
      {
        name: `RSS during and after ${Math.round(r.soakS / 60)} minutes of ESL + HTTP load, ${entries}`,
        target: `≤ ${fmtBytes(SOAK_RSS_GOAL_BYTES)} at every sample`,
        value: `max ${fmtBytes(max)}, end ${fmtBytes(end)}`,
        met: Number.isFinite(max) && !ctx.quick && r.cache.entries > 0 ? max <= SOAK_RSS_GOAL_BYTES && end <= SOAK_RSS_GOAL_BYTES && r.died === undefined : undefined,
        why: 'see memory over time: file-backed pages (the node binary, ~55 MiB), then of the anonymous part the V8 heap total, external, and the rest (malloc arenas, stacks, the watchdog thread\'s isolate); docs/operations.md "Memory".',
      },
      {
        name: `RSS flat under load (${Math.round(r.soakS / 60)} minutes)`,
        target: `within ±${SOAK_FLATNESS * 100} % of the first sample under load`,
        value: `${(deviation * 100).toFixed(1)} %`,
        met: Number.isFinite(deviation) && !ctx.quick ? deviation <= SOAK_FLATNESS : undefined,
        why: 'a steady climb is a leak; one step early on is V8 sizing its heap (shown, not excluded).',
      },
    ],
    raw: { samples, readyS: r.readyS, indexedS: r.indexedS, failures: r.failures, entries: r.cache.entries, died: r.died },
  }
}
