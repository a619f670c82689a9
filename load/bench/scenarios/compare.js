// @ts-check
/** Rows of an "ours vs Lua baseline" table, the same for every workload. */
import { fmtInt, fmtMs, fmtRatio } from '../lib/stats.js'

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

export const COMPARISON_HEADERS = ['workload', 'metric', 'ours', 'Lua baseline', 'ours / Lua']

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
