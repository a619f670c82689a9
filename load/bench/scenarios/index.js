// @ts-check
/**
 * Every scenario of `npm run bench`, in the order they run. Cheap in-process ones first; the
 * start-up scenario before `mixed` and `soak`, which run on the 100,000-entry tree it makes
 * (lib/big-cache.js: whoever runs first makes it). `budgetS` bounds a scenario (its signal aborts
 * then); `minBudgetS` is what it needs to be worth starting when the run's budget is nearly
 * spent; `method` is how its ratios are taken, for RESULTS.md's method section (a scenario may
 * return a more precise one in its section). The run as a whole stops starting scenarios at
 * 2,700 s (run-all.js): the budgets add up to more (2,800 s), the estimates (README.md) to less.
 */
import path from 'node:path'
import { BIG_CACHE_DIR } from '../lib/big-cache.js'
import { clusterScenario } from './cluster.js'
import { coldBursts } from './cold-bursts.js'
import { coldMiss } from './cold-miss.js'
import { coreHit } from './core-hit.js'
import { dogpile } from './dogpile.js'
import { eslScenario } from './esl.js'
import { httpHit } from './http-hit.js'
import { mixed } from './mixed.js'
import { soak } from './soak.js'
import { startup } from './startup.js'
import { zipfMix } from './zipf-mix.js'

export { BIG_CACHE_DIR }

/**
 * @typedef {object} Scenario
 * @property {string} id
 * @property {string} title
 * @property {number} budgetS
 * @property {number} minBudgetS
 * @property {number} estimateS what a full run took or is expected to take on the 2-core box (README.md's budget table)
 * @property {import('../lib/report.js').Method} method
 * @property {(ctx: import('./context.js').ScenarioContext) => Promise<import('../lib/report.js').Section>} run
 */

const MEDIAN_MIN_MAX = 'min–max over the rounds'
const LUA_ROUNDS = {
  rounds: '5 interleaved rounds (ours, Lua; order alternating), new sentences every round',
  paired: 'round i of ours with round i of Lua (same texts, back to back)',
  reported: 'median of the per-round ratios (p50, p99, wall time, renders)',
  spread: MEDIAN_MIN_MAX,
}

/** @type {readonly Scenario[]} */
export const SCENARIOS = Object.freeze([
  {
    id: 'core-hit', title: 'In-process hit lookup', budgetS: 60, minBudgetS: 15, estimateS: 15, run: coreHit,
    method: { rounds: '7 interleaved rounds (ours, Lua; order alternating), after one JIT warm-up per side', perRound: '40,000 sequential calls per side', paired: 'round i of ours with round i of Lua', reported: 'median of the per-round p50, p99, lookups/s ratios', spread: MEDIAN_MIN_MAX },
  },
  {
    id: 'dogpile', title: '1,000 concurrent identical misses; HTTP fan-out vs hits', budgetS: 150, minBudgetS: 30, estimateS: 30, run: dogpile,
    method: { rounds: 'in process: 5 rounds (a new sentence each); HTTP: 5 interleaved rounds, each a lone render, 1,000 waiters on one render, 1,000 hits', perRound: 'one burst of 1,000', paired: "HTTP: round i's waiters with round i's hits of the same file, round i's rendering request with round i's lone render; in process: nothing (no baseline: the Lua script is not run at 1,000 engines)", reported: 'HTTP: median of the per-round ratios waiters / hits; in process: renders per round (goal 1 in every round), times as the median over the rounds', spread: MEDIAN_MIN_MAX },
  },
  {
    id: 'cold-miss', title: 'Cold-miss overhead vs the bare engine', budgetS: 90, minBudgetS: 20, estimateS: 15, run: coldMiss,
    method: { rounds: '30 sentences, each rendered four ways back to back in rotating order', perRound: 'one cold render per way', paired: "each sentence's ours with the same sentence piped bare", reported: 'median of the per-sentence ratios', spread: 'p90 of the per-sentence ratios' },
  },
  {
    id: 'bursts-espeak', title: 'Cold bursts, espeak-ng: ours vs Lua', budgetS: 120, minBudgetS: 45, estimateS: 60, run: (ctx) => coldBursts(ctx, { engine: 'espeak-ng' }),
    method: { ...LUA_ROUNDS, perRound: 'one burst per side and workload: 100 callers on one sentence (same instant; within 100 ms), 60 distinct sentences' },
  },
  {
    id: 'bursts-slow', title: 'Cold bursts, slow engine: ours vs Lua', budgetS: 120, minBudgetS: 60, estimateS: 75, run: (ctx) => coldBursts(ctx, { engine: 'slow' }),
    method: { ...LUA_ROUNDS, perRound: 'one burst per side and workload: 100 callers on one sentence (same instant; within 100 ms), 12 distinct sentences (~1 s renders)' },
  },
  {
    id: 'zipf-mix', title: 'Zipf mix: ours vs Lua', budgetS: 150, minBudgetS: 60, estimateS: 75, run: zipfMix,
    method: { ...LUA_ROUNDS, perRound: '600 requests (200 phrases, Zipf s = 1) by 32 callers, closed loop, cold cache' },
  },
  {
    // 2 levels × 5 interleaved rounds × 3 targets × 10 s, warm-ups, a profile when a goal is missed.
    id: 'http-hit', title: 'HTTP hit throughput vs nginx', budgetS: 600, minBudgetS: 90, estimateS: 540, run: httpHit,
    method: { rounds: '5 interleaved rounds per level (64, 256 connections), the order of the targets rotating, after a 2 s warm-up of each', perRound: '10 s of wrk (one thread) per target', paired: 'round i of ours with round i of nginx', reported: 'median of the per-round requests/s and p99 ratios', spread: MEDIAN_MIN_MAX },
  },
  {
    // 5 × 4 × 8,000 calls at 500 channels (two of the four servers are the faster variants), 5 fan-out rounds, 5 × (1,000 calls at 1 channel, 3,000 at 100, 1,250 paced at 250/s = 5 s), a profile when missed.
    id: 'esl', title: 'ESL hit path', budgetS: 300, minBudgetS: 90, estimateS: 160, run: eslScenario,
    method: { rounds: '500 channels: 5 interleaved rounds per server (info = the default, off, info with the flags shipped until f4c551f, the bare Node hook; the order reversed every other round), after a warm-up; fan-out: 5 rounds, each 500 waiters on one miss then 500 hits; then 1 channel, 100 channels and paced (call log info): 5 interleaved rounds, the order rotating', perRound: '500 channels: 8,000 calls per server; 1 channel: 1,000 calls; 100 channels: 3,000 calls; paced: 1,250 calls at 250/s (500 channels at most)', paired: "500 channels: round i of info with round i of each other server; fan-out: round i's waiters with round i's hits; 1 / 100 / paced: not paired (no baseline: the goals are the reference)", reported: 'median lookups/s and service p99 of the info rounds (the goal), median of the per-round ratios info / each other server (lookups/s, service p99, service CPU per call); 1 / 100 / paced: every figure the median over its rounds (the paced p99 quoted in the goal too); fan-out: median of the per-round ratios', spread: MEDIAN_MIN_MAX },
  },
  {
    // Per engine (synthetic 50 ms, real espeak-ng): 5 rounds of a 2,000-request burst, 20 renders with 1 worker, 20 with 2.
    id: 'cluster', title: 'Cluster dedupe and worker throughput', budgetS: 150, minBudgetS: 60, estimateS: 60, run: clusterScenario,
    method: { rounds: 'per engine (synthetic 50 ms, espeak-ng): 5 interleaved rounds; each a dedupe burst, then 1 worker and 2 workers (1w, 2w; then 2w, 1w; …)', perRound: 'a burst of 20 new sentences × 100 requests over 3 instances × 2 workers; 20 new sentences with 1 worker, then with 2', paired: 'round i of 2 workers with round i of 1 worker (back to back)', reported: 'median of the per-round ratios 2w/1w (not judged); renders/s and burst latency: median over the rounds; renders per unique sentence summed over every run (goal: 1.00 in every run)', spread: MEDIAN_MIN_MAX },
  },
  {
    id: 'startup',
    title: 'Start-up and memory with 100,000 entries',
    budgetS: 240,
    minBudgetS: 90,
    estimateS: 150,
    run: (ctx) => startup(ctx, { cacheDir: ctx.quick ? path.join(ctx.workDir, 'cache-small') : BIG_CACHE_DIR }),
    method: { rounds: '5 interleaved rounds of fresh processes: one-shot (ours, walk, empty), then `serve` (first start, restart)', perRound: 'one fresh process per target', paired: "round i's open with round i's readdir walk (time) and empty process (RSS)", reported: 'median of the per-round ratios; times and RSS: median over the rounds', spread: MEDIAN_MIN_MAX },
  },
  {
    id: 'mixed', title: 'k6 mixed.ts thresholds (real k6, else a Node stand-in)', budgetS: 300, minBudgetS: 160, estimateS: 140, run: mixed,
    method: { rounds: 'one run of mixed.ts (k6 thresholds are absolute: no baseline)', perRound: "mixed.ts's own duration", paired: '—', reported: "k6's percentiles; RSS sampled from spawn, no warm-up left out", spread: 'RSS: min–max over the samples' },
  },
  {
    id: 'soak', title: 'Soak: RSS under 5 minutes of mixed load', budgetS: 520, minBudgetS: 60, estimateS: 330, run: soak,
    method: { rounds: 'one 300 s run (absolute goals: no baseline)', perRound: '300 s of ESL + HTTP load, then idle', paired: '—', reported: 'RSS at every sample from spawn, no warm-up left out', spread: 'min–max over the samples' },
  },
])

/** The registry's method for a scenario id (RESULTS.md's method section). @param {string} id */
export function defaultMethod(id) {
  return SCENARIOS.find((s) => s.id === id)?.method
}
