// @ts-check
/**
 * Every scenario of `npm run bench`, in the order they run. Cheap in-process ones first, the
 * long start-up scan last. `budgetS` bounds a scenario (its signal aborts then); `minBudgetS`
 * is what it needs to be worth starting when the run's budget is nearly spent.
 */
import path from 'node:path'
import { REPO_ROOT } from '../lib/ours.js'
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

/**
 * @typedef {object} Scenario
 * @property {string} id
 * @property {string} title
 * @property {number} budgetS
 * @property {number} minBudgetS
 * @property {(ctx: import('./context.js').ScenarioContext) => Promise<import('../lib/report.js').Section>} run
 */

/** The generated 100k-entry tree is kept here between runs (load/.out is git-ignored). */
export const BIG_CACHE_DIR = path.join(REPO_ROOT, 'load/.out/cache-100k')

/** @type {readonly Scenario[]} */
export const SCENARIOS = Object.freeze([
  { id: 'core-hit', title: 'In-process hit lookup', budgetS: 60, minBudgetS: 10, run: coreHit },
  { id: 'dogpile', title: '1,000 concurrent identical misses; HTTP fan-out vs hits', budgetS: 150, minBudgetS: 30, run: dogpile },
  { id: 'cold-miss', title: 'Cold-miss overhead vs the bare engine', budgetS: 90, minBudgetS: 20, run: coldMiss },
  { id: 'bursts-espeak', title: 'Cold bursts, espeak-ng: ours vs Lua', budgetS: 120, minBudgetS: 30, run: (ctx) => coldBursts(ctx, { engine: 'espeak-ng' }) },
  { id: 'bursts-slow', title: 'Cold bursts, slow engine: ours vs Lua', budgetS: 120, minBudgetS: 45, run: (ctx) => coldBursts(ctx, { engine: 'slow' }) },
  { id: 'zipf-mix', title: 'Zipf mix: ours vs Lua', budgetS: 120, minBudgetS: 30, run: zipfMix },
  // 2 levels × 5 interleaved rounds × 3 targets × 10 s, warm-ups, a profile when a goal is missed.
  { id: 'http-hit', title: 'HTTP hit throughput vs nginx', budgetS: 600, minBudgetS: 90, run: httpHit },
  { id: 'esl', title: 'ESL hit path', budgetS: 240, minBudgetS: 60, run: eslScenario },
  { id: 'mixed', title: 'k6 mixed.ts thresholds (real k6, else a Node stand-in)', budgetS: 300, minBudgetS: 160, run: mixed },
  { id: 'cluster', title: 'Cluster dedupe and worker throughput', budgetS: 150, minBudgetS: 40, run: clusterScenario },
  {
    id: 'startup',
    title: 'Start-up and memory with 100,000 entries',
    budgetS: 240,
    minBudgetS: 60,
    run: (ctx) => startup(ctx, { cacheDir: ctx.quick ? path.join(ctx.workDir, 'cache-small') : BIG_CACHE_DIR }),
  },
  { id: 'soak', title: 'Soak: RSS under 5 minutes of mixed load', budgetS: 520, minBudgetS: 60, run: soak },
])
