// @ts-check
/** Rows of an "ours vs Lua baseline" table, the same for every workload. */
import { overRounds, pairedRatio } from '../lib/rounds.js'
import { fmtInt, fmtMs, fmtRatio, fmtSpread, fmtTimes } from '../lib/stats.js'

/**
 * @param {string} workload
 * @param {import('../lib/workload-runner.js').WorkloadResult} ours
 * @param {import('../lib/workload-runner.js').WorkloadResult} lua
 * @returns {string[][]}
 */
export function comparisonRows(workload, ours, lua) {
  const pct = (/** @type {number} */ n, /** @type {number} */ of) => `${fmtInt(n)} / ${fmtInt(of)}`
  return [
    [workload, 'renders (engine runs)', fmtInt(ours.renders), fmtInt(lua.renders), fmtRatio(ours.renders, lua.renders)],
    ['', 'engine processes at peak', fmtInt(ours.peakEngineProcs), fmtInt(lua.peakEngineProcs), fmtRatio(ours.peakEngineProcs, lua.peakEngineProcs)],
    ['', 'latency p50', fmtMs(ours.latency.p50), fmtMs(lua.latency.p50), fmtRatio(ours.latency.p50, lua.latency.p50)],
    ['', 'latency p99', fmtMs(ours.latency.p99), fmtMs(lua.latency.p99), fmtRatio(ours.latency.p99, lua.latency.p99)],
    ['', 'partial/invalid WAV at the returned path', pct(ours.invalidReads, ours.requests), pct(lua.invalidReads, lua.requests), ''],
    ['', 'errors', fmtInt(ours.errors), fmtInt(lua.errors), ''],
    ['', 'wall time', fmtMs(ours.wallMs), fmtMs(lua.wallMs), fmtRatio(ours.wallMs, lua.wallMs)],
  ]
}

/**
 * The same rows over interleaved rounds: each side's median (min–max) over the rounds, and the
 * median (min–max) of the per-round ratios ours / Lua (round i of ours over round i of Lua).
 * Invalid reads and errors are summed over every round.
 * @param {string} workload
 * @param {readonly import('../lib/workload-runner.js').WorkloadResult[]} ours
 * @param {readonly import('../lib/workload-runner.js').WorkloadResult[]} lua
 * @returns {string[][]}
 */
export function roundsComparisonRows(workload, ours, lua) {
  /** @typedef {import('../lib/workload-runner.js').WorkloadResult} R */
  /** @param {(r: R) => number} metric @param {(n: number) => string} fmt */
  const row = (metric, fmt) => [
    fmtSpread(overRounds(ours, metric), fmt),
    fmtSpread(overRounds(lua, metric), fmt),
    fmtSpread(pairedRatio(ours, lua, metric), fmtTimes),
  ]
  const sum = (/** @type {readonly R[]} */ runs, /** @type {(r: R) => number} */ f) => runs.reduce((a, r) => a + f(r), 0)
  const pct = (/** @type {readonly R[]} */ runs, /** @type {(r: R) => number} */ f) => `${fmtInt(sum(runs, f))} / ${fmtInt(sum(runs, (r) => r.requests))}`
  return [
    [workload, 'renders (engine runs) per round', ...row((r) => r.renders, fmtInt)],
    ['', 'engine processes at peak', ...row((r) => r.peakEngineProcs, fmtInt)],
    ['', 'latency p50', ...row((r) => r.latency.p50, fmtMs)],
    ['', 'latency p99', ...row((r) => r.latency.p99, fmtMs)],
    ['', 'wall time', ...row((r) => r.wallMs, fmtMs)],
    ['', 'partial/invalid WAV at the returned path (all rounds)', pct(ours, (r) => r.invalidReads), pct(lua, (r) => r.invalidReads), ''],
    ['', 'errors (all rounds)', fmtInt(sum(ours, (r) => r.errors)), fmtInt(sum(lua, (r) => r.errors)), ''],
  ]
}

export const COMPARISON_HEADERS = ['workload', 'metric', 'ours', 'Lua baseline', 'ours / Lua']

export const ROUNDS_COMPARISON_HEADERS = ['workload', 'metric', 'ours: median (min–max)', 'Lua baseline: median (min–max)', 'ours / Lua: median (min–max) of per-round ratios']

/**
 * Notes with the examples behind non-zero error and invalid counts.
 * @param {string} label
 * @param {import('../lib/workload-runner.js').WorkloadResult} result
 */
export function problemNotes(label, result) {
  const notes = []
  if (result.invalidReads > 0) notes.push(`${label}: invalid reads, e.g. ${result.invalidReasons.map((r) => `"${r}"`).join(', ')}`)
  if (result.errors > 0) notes.push(`${label}: errors, e.g. ${result.errorExamples.map((r) => `"${r}"`).join(', ')}`)
  return notes
}
