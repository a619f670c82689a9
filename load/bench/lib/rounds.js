// @ts-check
/**
 * Interleaved rounds (issue 19's method): every target runs once per round, the order rotating
 * each round (ours, baseline; baseline, ours; …) so drift in the shared machine's background
 * load hits all alike. A ratio is the MEDIAN of the per-round ratios (round i of one target over
 * round i of the other, measured next to each other), shown with their spread (min–max), never
 * the best or worst round. The 1-minute load average is read before the first round and after
 * the last.
 */
import { loadAverage1m, spreadOf } from './stats.js'

/** The fewest rounds a ratio may come from. */
export const MIN_ROUNDS = 5

/**
 * @template T
 * @typedef {object} Rounds
 * @property {Record<string, T[]>} runs per target, round i at index i (complete rounds only)
 * @property {string[][]} orders the order each complete round ran in
 * @property {number} loadBefore 1-minute load average before the first round
 * @property {number} loadAfter and after the last
 */

/**
 * The order of round `round`: `names` rotated by `round`.
 * @param {readonly string[]} names
 * @param {number} round
 */
export function roundOrder(names, round) {
  return names.map((_, i) => /** @type {string} */ (names[(i + round) % names.length]))
}

/**
 * Runs `rounds` rounds over `targets` (name → one measured run), interleaved. A round the signal
 * interrupts is dropped whole, so every target keeps the same number of runs and the pairs stay paired.
 * @template T
 * @param {Record<string, (round: number) => Promise<T>>} targets
 * @param {{ rounds: number, signal?: AbortSignal, progress?: (message: string) => void, settle?: () => Promise<void>, label?: string }} options
 * @returns {Promise<Rounds<T>>}
 */
export async function interleaved(targets, options) {
  const names = Object.keys(targets)
  /** @type {Record<string, T[]>} */
  const runs = Object.fromEntries(names.map((n) => [n, []]))
  /** @type {string[][]} */
  const orders = []
  const loadBefore = loadAverage1m()
  const aborted = () => options.signal?.aborted === true
  for (let round = 0; round < options.rounds && !aborted(); round++) {
    const order = roundOrder(names, round)
    /** @type {[string, T][]} */
    const done = []
    for (const name of order) {
      if (aborted()) break
      options.progress?.(`${options.label === undefined ? '' : `${options.label}: `}round ${round + 1}/${options.rounds}, ${name} (load ${loadAverage1m().toFixed(1)})`)
      const run = /** @type {(round: number) => Promise<T>} */ (targets[name])
      done.push([name, await run(round)])
      if (options.settle !== undefined) await options.settle()
    }
    if (done.length < names.length) break
    for (const [name, result] of done) runs[name]?.push(result)
    orders.push(order)
  }
  return { runs, orders, loadBefore, loadAfter: loadAverage1m() }
}

/**
 * Median and min–max of one metric over a target's rounds.
 * @template T
 * @param {readonly T[]} runs
 * @param {(run: T) => number} metric
 */
export function overRounds(runs, metric) {
  return spreadOf(runs.map(metric))
}

/**
 * The per-round ratios metric(a[i]) / metric(b[i]), as a median with its min–max. Rounds where
 * either side has no finite value, or the baseline is 0, are left out (n says how many remain).
 * @template T
 * @param {readonly T[]} a
 * @param {readonly T[]} b
 * @param {(run: T) => number} metric
 */
export function pairedRatio(a, b, metric) {
  const n = Math.min(a.length, b.length)
  /** @type {number[]} */
  const ratios = []
  for (let i = 0; i < n; i++) {
    const x = metric(/** @type {T} */ (a[i]))
    const y = metric(/** @type {T} */ (b[i]))
    if (Number.isFinite(x) && Number.isFinite(y) && y !== 0) ratios.push(x / y)
  }
  return spreadOf(ratios)
}

/**
 * One line saying how a table's rounds were taken, for captions.
 * @param {{ rounds: number, perRound: string, loadBefore: number, loadAfter: number }} r
 */
export function roundsCaption(r) {
  return (
    `${r.rounds} interleaved rounds (order rotating), ${r.perRound} per target and round; each cell the median (min–max) over the rounds, ` +
    `each ratio the median (min–max) of the per-round ratios; load average (1 min) ${r.loadBefore.toFixed(2)} before, ${r.loadAfter.toFixed(2)} after` +
    (r.rounds < MIN_ROUNDS ? ` — ⚠ fewer than ${MIN_ROUNDS} rounds: not a result` : '')
  )
}
