// @ts-check
/**
 * The Zipf mix, ours vs the Lua script (espeak-ng): phrases with Zipf(1.0) popularity, a fixed
 * sequence of requests drawn once (the same for both sides and every round), played by a pool
 * of callers in a closed loop, from a cold cache. Interleaved rounds (lib/rounds.js): every round
 * uses phrases new to both sides (same popularity ranks, new wording), so every round starts cold.
 */
import path from 'node:path'
import { loggedProblems } from '../lib/ours.js'
import { LuaBaseline } from '../lua-baseline.js'
import { MIN_ROUNDS, interleaved, overRounds, roundsCaption } from '../lib/rounds.js'
import { runClosedLoop } from '../lib/workload-runner.js'
import { newRunId, seededRandom, sentences, zipfSampler } from '../lib/workload.js'
import { fmtInt, fmtSpread } from '../lib/stats.js'
import { ROUNDS_COMPARISON_HEADERS, problemNotes, roundsComparisonRows } from './compare.js'

/**
 * Sizes per round: 5 rounds × 2 sides must fit the scenario's budget (a single run of 3,000
 * requests over 1,000 phrases took ~50 s for the two sides).
 * @param {boolean} quick
 */
export function zipfPlan(quick) {
  return { rounds: MIN_ROUNDS, phrases: quick ? 20 : 200, requests: quick ? 40 : 600, callers: quick ? 8 : 32, s: 1.0 }
}

/**
 * @param {import('./context.js').ScenarioContext} ctx
 * @returns {Promise<import('../lib/report.js').Section>}
 */
export async function zipfMix(ctx) {
  const { rounds, phrases, requests, callers, s } = zipfPlan(ctx.quick)
  const next = zipfSampler(phrases, s, seededRandom(42))
  const ranks = Array.from({ length: requests }, () => next())
  const unique = new Set(ranks).size
  const textsOf = Array.from({ length: rounds }, () => sentences(newRunId(), phrases))
  const sequence = (/** @type {number} */ round) => ranks.map((k) => /** @type {string} */ (textsOf[round]?.[k]))

  const ours = await ctx.startOurs({ workDir: path.join(ctx.workDir, 'ours'), engine: 'espeak-ng' })
  const lua = new LuaBaseline({ cacheDir: path.join(ctx.workDir, 'lua') })
  const oursSystem = { name: 'ours', get: (/** @type {string} */ t) => ours.get(t), renders: () => ours.renders() }
  const luaSystem = { name: 'lua', get: (/** @type {string} */ t) => lua.get(t), renders: () => lua.renders }
  const play = (/** @type {import('../lib/workload-runner.js').System} */ system) => (/** @type {number} */ round) =>
    runClosedLoop(system, sequence(round), { callers, engineProcNames: ['espeak-ng'], signal: ctx.signal })
  /** @type {import('../lib/rounds.js').Rounds<import('../lib/workload-runner.js').WorkloadResult>} */
  let r
  try {
    r = await interleaved({ ours: play(oursSystem), lua: play(luaSystem) }, { rounds, signal: ctx.signal, progress: ctx.progress, settle: ctx.settle, label: `${requests} requests, ${callers} callers` })
  } finally {
    await ours.close()
  }
  const o = r.runs['ours'] ?? []
  const l = r.runs['lua'] ?? []
  const hitPct = (/** @type {import('../lib/workload-runner.js').WorkloadResult} */ run) => (((run.statuses['hit'] ?? 0) * 100) / Math.max(1, run.requests))
  const label = `${fmtInt(requests)} requests, ${fmtInt(phrases)} phrases`
  const goodRounds = o.filter((run) => run.renders === unique && run.errors === 0).length
  return {
    id: 'zipf-mix',
    title: 'Zipf mix from a cold cache — espeak-ng: ours vs the Lua script',
    description:
      `${fmtInt(requests)} requests drawn once from ${fmtInt(phrases)} phrases with Zipf(s = ${s}) popularity ` +
      `(${fmtInt(unique)} distinct phrases asked), played by ${callers} callers in a closed loop (each asks again as soon ` +
      `as it has its answer), starting from a cold cache. Same sequence for both sides. ${rounds} interleaved rounds (ours, Lua; then Lua, ours; …), ` +
      'each on phrases new to both sides (same popularity ranks, new wording), so every round starts cold; a cell is the median over the rounds ' +
      '(min–max in brackets), a ratio the median (min–max) of the per-round ratios.',
    tables: [
      {
        caption: roundsCaption({ rounds: o.length, perRound: `${fmtInt(requests)} requests`, loadBefore: r.loadBefore, loadAfter: r.loadAfter }),
        headers: ROUNDS_COMPARISON_HEADERS,
        rows: [
          ...roundsComparisonRows(label, o, l),
          ['', 'answered from cache (hit), %', fmtSpread(overRounds(o, hitPct), (v) => v.toFixed(1)), fmtSpread(overRounds(l, hitPct), (v) => v.toFixed(1)), ''],
          ['', 'answered by joining a render in flight (coalesced)', fmtSpread(overRounds(o, (run) => run.statuses['coalesced'] ?? 0), fmtInt), '— (no such thing)', ''],
        ],
      },
    ],
    goals: [
      {
        name: 'one render per distinct phrase (Zipf mix)',
        target: `renders = ${fmtInt(unique)}, every round`,
        value: `${goodRounds} of ${o.length} rounds (renders per round: ${o.map((run) => run.renders).join(', ')})`,
        met: o.length > 0 ? goodRounds === o.length : undefined,
        why: 'see the renders and errors rows.',
      },
    ],
    method: {
      rounds: `${rounds} interleaved rounds (ours, Lua; order alternating)`,
      perRound: `${fmtInt(requests)} requests (${fmtInt(phrases)} phrases, Zipf s = ${s}) by ${callers} callers, closed loop, cold cache`,
      paired: 'round i of ours with round i of Lua (same sequence, same texts, back to back)',
      reported: 'median over the rounds of p50, p99, wall time, renders; ratio = median of the per-round ratios',
      spread: 'min–max over the rounds',
    },
    notes: [
      `Per round: ${fmtInt(requests)} requests over ${fmtInt(phrases)} phrases (3,000 over 1,000 before the rounds were interleaved: 5 rounds of that do not fit the 120 s budget).`,
      ...o.flatMap((run, i) => problemNotes(`ours, round ${i + 1}`, run)),
      ...problemNotes('Lua (first round with any)', l.find((run) => run.invalidReads > 0 || run.errors > 0) ?? l[0] ?? /** @type {any} */ ({ invalidReads: 0, errors: 0 })),
      ...loggedProblems(ours),
    ],
    raw: { ours: o, lua: l, unique, requests, phrases, callers, rounds: o.length, loadBefore: r.loadBefore, loadAfter: r.loadAfter },
  }
}
