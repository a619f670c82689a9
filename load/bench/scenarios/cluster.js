// @ts-check
/**
 * Scale-out: load/bench/cluster.ts (compiled by lib/compile-ts.js) against a redis-server of our
 * own on a free port (no persistence; stopped, and its directory removed, when the scenario
 * ends). Once with its synthetic engine (a fixed 50 ms render: measures the queue, not this
 * machine's CPU) and once with the real espeak-ng pipeline (engine + sox + checks, from dist/).
 *
 * Issue 19's method: per engine, interleaved rounds (clusterRounds). Each round is one dedupe
 * burst (3 instances × 2 workers) and then one throughput run with 1 worker and one with 2,
 * whose order alternates (1w, 2w; then 2w, 1w; …); every run of every round asks for sentences
 * new to Redis and to every node (a fresh key prefix). Reported: the median (min–max) of the
 * per-round ratios 2w/1w, renders/s and burst latency as median (min–max) over the rounds, and
 * renders per unique sentence summed over every run of every round (the goal: 1.00 in every one).
 */
import { mkdtempSync, rmSync } from 'node:fs'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import { compileTs } from '../lib/compile-ts.js'
import { collectingLogger } from '../lib/ours.js'
import { MIN_ROUNDS, roundOrder } from '../lib/rounds.js'
import { freePort, startChild, waitForTcp } from '../lib/servers.js'
import { fmtInt, fmtMs, fmtSpread, fmtTimes, loadAverage1m, spreadOf } from '../lib/stats.js'

const TITLE = 'Cluster: dedupe across instances, 1 vs 2 workers'
export const CLUSTER_ROUNDS = 5

/**
 * @typedef {{ workers: number, sentences: number, renders: number, wallMs: number, rendersPerSecond: number }} ThroughputRun
 * @typedef {{ instances: number, workers: number, sentences: number, burst: number, requests: number, renders: number, rendersPerUniqueSentence: number, failedRequests: number, latencyMs: { p50: number, p99: number, max: number } }} BurstRun
 * @typedef {{ round: number, order: string[], burst: BurstRun, oneWorker: ThroughputRun, twoWorkers: ThroughputRun, loadBefore: number, loadAfter: number }} ClusterRound
 */

/**
 * Interleaved rounds: per round one dedupe burst, then the throughput pair in alternating order
 * (round 0: 1 worker, 2 workers; round 1: 2 workers, 1 worker; …). A round the signal cuts is
 * dropped whole, so every kept round has both sides of its pair.
 * @param {{ rounds: number, burst: (round: number) => Promise<BurstRun>, throughput: (workers: number, round: number) => Promise<ThroughputRun>, signal?: AbortSignal, settle?: () => Promise<void>, progress?: (m: string) => void }} o
 * @returns {Promise<ClusterRound[]>}
 */
export async function clusterRounds(o) {
  /** @type {ClusterRound[]} */
  const rounds = []
  const aborted = () => o.signal?.aborted === true
  for (let round = 0; round < o.rounds && !aborted(); round++) {
    const loadBefore = loadAverage1m()
    o.progress?.(`round ${round + 1}/${o.rounds}: dedupe burst (load ${loadBefore.toFixed(1)})`)
    const burst = await o.burst(round)
    const order = roundOrder(['1 worker', '2 workers'], round)
    /** @type {Record<string, ThroughputRun>} */
    const done = {}
    for (const name of order) {
      if (aborted()) break
      await o.settle?.()
      o.progress?.(`round ${round + 1}/${o.rounds}: ${name}`)
      done[name] = await o.throughput(name === '1 worker' ? 1 : 2, round)
    }
    const oneWorker = done['1 worker']
    const twoWorkers = done['2 workers']
    if (oneWorker === undefined || twoWorkers === undefined) break
    rounds.push({ round: round + 1, order, burst, oneWorker, twoWorkers, loadBefore, loadAfter: loadAverage1m() })
    await o.settle?.()
  }
  return rounds
}

/**
 * What the tables and the goal are made of: per-round ratios 2w/1w as median (min–max), each
 * side's renders/s and the burst latency over the rounds, and the render counts summed over
 * every run of every round (with whether each run rendered each of its sentences exactly once).
 * @param {readonly ClusterRound[]} rounds
 */
export function summarizeClusterRounds(rounds) {
  const runs = rounds.flatMap((r) => [r.burst, r.oneWorker, r.twoWorkers])
  const renders = runs.reduce((a, r) => a + r.renders, 0)
  const sentences = runs.reduce((a, r) => a + r.sentences, 0)
  return {
    rounds: rounds.length,
    ratio: spreadOf(rounds.map((r) => r.twoWorkers.rendersPerSecond / r.oneWorker.rendersPerSecond)),
    oneWorker: spreadOf(rounds.map((r) => r.oneWorker.rendersPerSecond)),
    twoWorkers: spreadOf(rounds.map((r) => r.twoWorkers.rendersPerSecond)),
    burstP50: spreadOf(rounds.map((r) => r.burst.latencyMs.p50)),
    burstP99: spreadOf(rounds.map((r) => r.burst.latencyMs.p99)),
    burstRequests: rounds.reduce((a, r) => a + r.burst.requests, 0),
    failedRequests: rounds.reduce((a, r) => a + r.burst.failedRequests, 0),
    renders,
    sentences,
    rendersPerUnique: sentences === 0 ? Number.NaN : renders / sentences,
    oncePerSentenceEveryRun: runs.length > 0 && runs.every((r) => r.renders === r.sentences),
    load: spreadOf(rounds.flatMap((r) => [r.loadBefore, r.loadAfter])),
  }
}

/**
 * @param {import('./context.js').ScenarioContext} ctx
 * @returns {Promise<import('../lib/report.js').Section>}
 */
export async function clusterScenario(ctx) {
  ctx.progress('compiling load/bench/cluster.ts')
  const compiled = (await compileTs(['load/bench/cluster.ts']))['load/bench/cluster.ts']
  if (compiled === undefined) {
    return { id: 'cluster', title: TITLE, tables: [], error: 'not wired: load/bench/cluster.ts does not exist yet.' }
  }
  /** @type {{ runClusterBurst: (o: Record<string, unknown>) => Promise<BurstRun>, runClusterThroughput: (o: Record<string, unknown>, workers: number) => Promise<ThroughputRun> }} */
  const mod = await import(pathToFileURL(compiled).href)
  const port = await freePort()
  const redisDir = mkdtempSync(path.join(ctx.workDir, 'redis-'))
  const redis = startChild('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', redisDir], { cwd: redisDir })
  const redisUrl = `redis://127.0.0.1:${port}`
  const sizes = ctx.quick ? { instances: 3, workers: 2, sentences: 3, burst: 5 } : { instances: 3, workers: 2, sentences: 20, burst: 100 }
  const runId = Date.now().toString(36)
  /** @type {{ label: string, rounds: ClusterRound[] }[]} */
  const engines = []
  try {
    await waitForTcp(port, redis)
    /** @param {string} label @param {string} tag @param {Record<string, unknown>} engine */
    const runEngine = async (label, tag, engine) => {
      const options = (/** @type {number} */ round) => ({ redisUrl, ...sizes, ...engine, prefix: `bench-${runId}-${tag}-r${round}` })
      const rounds = await clusterRounds({
        rounds: CLUSTER_ROUNDS,
        burst: (round) => mod.runClusterBurst(options(round)),
        throughput: (workers, round) => mod.runClusterThroughput(options(round), workers),
        signal: ctx.signal,
        settle: ctx.settle,
        progress: (m) => ctx.progress(`${label}: ${m}`),
      })
      engines.push({ label, rounds })
    }
    await runEngine('synthetic engine, 50 ms a render', 'syn', { renderMs: 50 })
    if (!ctx.signal.aborted) {
      const app = await realPipelineApp(ctx.workDir)
      try {
        await runEngine('espeak-ng + sox (real pipeline)', 'real', { renderer: app.renderer })
      } finally {
        await app.close()
      }
    }
  } finally {
    await redis.stop()
    rmSync(redisDir, { recursive: true, force: true })
  }
  return clusterSection(engines, sizes)
}

/**
 * @param {{ label: string, rounds: ClusterRound[] }[]} engines
 * @param {{ instances: number, workers: number, sentences: number, burst: number }} sizes
 * @returns {import('../lib/report.js').Section}
 */
export function clusterSection(engines, sizes) {
  const summaries = engines.map((e) => ({ label: e.label, s: summarizeClusterRounds(e.rounds), rounds: e.rounds }))
  const dedupeMet = summaries.length > 0 && summaries.every(({ s }) => s.rounds > 0 && s.oncePerSentenceEveryRun && s.failedRequests === 0)
  const perRound = `one dedupe burst (${sizes.instances} instances × ${sizes.workers} workers, ${sizes.sentences} new sentences × ${sizes.burst} requests), then ${sizes.sentences} new sentences with 1 worker and with 2 (order alternating)`
  const fmtRate = (/** @type {number} */ r) => r.toFixed(1)
  return {
    id: 'cluster',
    title: TITLE,
    description:
      'runClusterBurst and runClusterThroughput (load/bench/cluster.ts): serving instances, each with its own TtsService, disk store and BullMQ client, ' +
      'and render workers, all on one redis-server (started for the run on a free port, no persistence). Per engine, ' +
      `${CLUSTER_ROUNDS} interleaved rounds; each round is ${perRound}; every run asks for sentences new to Redis and to every node. ` +
      'Dedupe: bursts of concurrent requests for new sentences spread round-robin over the instances. Throughput: the same number of new sentences, ' +
      'one request each, rendered by 1 worker and by 2 (concurrency 1 each). The speed-up is the median (min–max) of the per-round ratios 2 workers / 1 worker ' +
      '(round i of one with round i of the other, back to back); renders/s and burst latency are the median (min–max) over the rounds; renders are summed over every run ' +
      'of every round. The Lua script has no cluster: every box renders for every caller that finds no file (see the cold bursts: 100 callers → 100 renders).',
    tables: [
      {
        caption: `Per engine: ${CLUSTER_ROUNDS} interleaved rounds — median (min–max) over the rounds; ratio: median (min–max) of the per-round ratios; renders summed over every run of every round`,
        headers: ['engine', 'rounds', '1 worker: renders/s', '2 workers: renders/s', '2 / 1 (per round)', 'renders / unique sentences (all runs)', 'each run 1.00', 'burst latency p50', 'burst p99', 'failed requests', 'load average (1 min)'],
        rows: summaries.map(({ label, s }) => [
          label,
          String(s.rounds),
          fmtSpread(s.oneWorker, fmtRate),
          fmtSpread(s.twoWorkers, fmtRate),
          fmtSpread(s.ratio, fmtTimes),
          `${fmtInt(s.renders)} / ${fmtInt(s.sentences)} = ${s.rendersPerUnique.toFixed(2)}`,
          s.oncePerSentenceEveryRun ? 'yes' : '**no**',
          fmtSpread(s.burstP50, fmtMs),
          fmtSpread(s.burstP99, fmtMs),
          `${fmtInt(s.failedRequests)} of ${fmtInt(s.burstRequests)}`,
          fmtSpread(s.load, (l) => l.toFixed(2)),
        ]),
      },
      {
        caption: 'the rounds, in the order run (renders per unique sentence: burst / 1 worker / 2 workers)',
        headers: ['engine', 'round', 'throughput order', '1 worker: renders/s', '2 workers: renders/s', '2 / 1', 'renders per unique sentence', 'burst p50', 'burst p99', 'load average before → after'],
        rows: summaries.flatMap(({ label, rounds }) =>
          rounds.map((r) => [
            label,
            String(r.round),
            r.order.join(', '),
            fmtRate(r.oneWorker.rendersPerSecond),
            fmtRate(r.twoWorkers.rendersPerSecond),
            fmtTimes(r.twoWorkers.rendersPerSecond / r.oneWorker.rendersPerSecond),
            [r.burst, r.oneWorker, r.twoWorkers].map((x) => (x.renders / x.sentences).toFixed(2)).join(' / '),
            fmtMs(r.burst.latencyMs.p50),
            fmtMs(r.burst.latencyMs.p99),
            `${r.loadBefore.toFixed(2)} → ${r.loadAfter.toFixed(2)}`,
          ]),
        ),
      },
    ],
    goals: [
      {
        name: `one render per sentence across ${sizes.instances} instances (every run of ${CLUSTER_ROUNDS} rounds, per engine)`,
        target: 'renders per unique sentence = 1.00 in every run',
        value: summaries.map(({ label, s }) => `${label.split(',')[0]}: ${fmtInt(s.renders)} / ${fmtInt(s.sentences)} = ${s.rendersPerUnique.toFixed(2)} over ${s.rounds} rounds${s.oncePerSentenceEveryRun ? '' : ' (**not 1.00 in every run**)'}`).join('; '),
        met: summaries.length > 0 ? dedupeMet : undefined,
        why: 'a sentence was rendered more than once (or a request failed) across instances in at least one run: see the rounds table.',
      },
    ],
    notes: [
      ...summaries.filter(({ s }) => s.rounds < MIN_ROUNDS).map(({ label, s }) => `⚠ ${label}: ${s.rounds} of ${CLUSTER_ROUNDS} rounds (the budget cut the rest): fewer than ${MIN_ROUNDS}, not a result.`),
      'The 2 / 1 speed-up is not judged (no goal); it is shown as the median of per-round ratios with its spread, like every ratio here.',
      "With the real pipeline both workers share this machine's cores with the instances and Redis, so the 2-worker speed-up is bounded by the CPU, not the queue.",
    ],
    raw: { sizes, engines },
  }
}

/**
 * An app from dist/ (buildApp, one-shot: the in-process engine pipeline, no render host) for
 * espeak-ng: its renderer is the service's own render pipeline (engine catalog + engine → sox).
 * @param {string} workDir
 */
async function realPipelineApp(workDir) {
  const { buildApp, loadConfig } = await import('../../../dist/index.js')
  const { logger } = collectingLogger()
  const cacheDir = mkdtempSync(path.join(workDir, 'real-pipeline-'))
  return buildApp(loadConfig({ env: {}, overrides: { cacheDir, engine: 'espeak-ng' } }), { logger, defaultMetrics: false })
}
