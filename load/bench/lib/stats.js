// @ts-check
/**
 * Latency statistics: nearest-rank percentiles over a list of samples (milliseconds).
 * Nearest-rank (not interpolated) so a p99 is always a latency some request really saw.
 */
import { loadavg } from 'node:os'

/**
 * @typedef {object} Summary
 * @property {number} n
 * @property {number} min
 * @property {number} p50
 * @property {number} p90
 * @property {number} p99
 * @property {number} max
 * @property {number} mean
 */

/**
 * @param {readonly number[]} sorted ascending
 * @param {number} p 0..100
 */
export function percentileOfSorted(sorted, p) {
  if (sorted.length === 0) return Number.NaN
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length))
  return /** @type {number} */ (sorted[Math.min(rank, sorted.length) - 1])
}

/**
 * @param {Iterable<number>} samples
 * @returns {Summary}
 */
export function summarize(samples) {
  const sorted = Float64Array.from(samples).sort()
  const arr = Array.from(sorted)
  let sum = 0
  for (const v of arr) sum += v
  return {
    n: arr.length,
    min: arr.length > 0 ? /** @type {number} */ (arr[0]) : Number.NaN,
    p50: percentileOfSorted(arr, 50),
    p90: percentileOfSorted(arr, 90),
    p99: percentileOfSorted(arr, 99),
    max: arr.length > 0 ? /** @type {number} */ (arr[arr.length - 1]) : Number.NaN,
    mean: arr.length > 0 ? sum / arr.length : Number.NaN,
  }
}

/**
 * Formats milliseconds with a precision that suits their size (µs below 1 ms).
 * @param {number} ms
 */
export function fmtMs(ms) {
  if (!Number.isFinite(ms)) return 'n/a'
  // The unit and precision follow the size; a negative difference keeps its sign.
  const abs = Math.abs(ms)
  if (abs < 1) return `${(ms * 1000).toFixed(abs < 0.01 ? 2 : 1)} µs`
  if (abs < 10) return `${ms.toFixed(2)} ms`
  if (abs < 1000) return `${ms.toFixed(1)} ms`
  return `${(ms / 1000).toFixed(2)} s`
}

/** @param {number} n */
export function fmtInt(n) {
  if (!Number.isFinite(n)) return 'n/a'
  return Math.round(n).toLocaleString('en-US')
}

/**
 * ours/baseline, formatted; `n/a` when either side is missing or the baseline is 0.
 * @param {number | undefined} ours
 * @param {number | undefined} baseline
 */
export function fmtRatio(ours, baseline) {
  if (ours === undefined || baseline === undefined || !Number.isFinite(ours) || !Number.isFinite(baseline) || baseline === 0) return 'n/a'
  const r = ours / baseline
  return `${r >= 100 ? r.toFixed(0) : r >= 10 ? r.toFixed(1) : r.toFixed(2)}×`
}

/** @param {number} bytes */
export function fmtBytes(bytes) {
  if (!Number.isFinite(bytes)) return 'n/a'
  if (Math.abs(bytes) < 1024) return `${Math.round(bytes)} B`
  if (bytes < 1024 ** 2) return `${(bytes / 1024).toFixed(1)} KiB`
  return `${(bytes / 1024 ** 2).toFixed(1)} MiB`
}

/**
 * @typedef {object} Spread
 * @property {number} n
 * @property {number} median
 * @property {number} min
 * @property {number} max
 */

/**
 * The median of a list (the mean of the two middle values for an even count) with its min and
 * max: what interleaved rounds report (never the best or worst round alone).
 * @param {readonly number[]} values
 * @returns {Spread}
 */
export function spreadOf(values) {
  const sorted = values.filter((v) => !Number.isNaN(v)).sort((a, b) => a - b)
  const n = sorted.length
  if (n === 0) return { n, median: Number.NaN, min: Number.NaN, max: Number.NaN }
  const mid = Math.floor(n / 2)
  const median = n % 2 === 1 ? /** @type {number} */ (sorted[mid]) : (/** @type {number} */ (sorted[mid - 1]) + /** @type {number} */ (sorted[mid])) / 2
  return { n, median, min: /** @type {number} */ (sorted[0]), max: /** @type {number} */ (sorted[n - 1]) }
}

/**
 * "median (min–max)" with `fmt` for each number.
 * @param {Spread} spread
 * @param {(n: number) => string} fmt
 */
export function fmtSpread(spread, fmt) {
  if (spread.n === 0) return 'n/a'
  return spread.n === 1 ? fmt(spread.median) : `${fmt(spread.median)} (${fmt(spread.min)}–${fmt(spread.max)})`
}

/** A plain ratio, formatted as fmtRatio does (×). @param {number} r */
export function fmtTimes(r) {
  if (!Number.isFinite(r)) return 'n/a'
  return `${r >= 100 ? r.toFixed(0) : r >= 10 ? r.toFixed(1) : r.toFixed(2)}×`
}

/**
 * `fmtTimes` for a figure judged against `target`: where two decimals would print the target
 * itself for a figure on either side of it (0.4965 → "0.50×" against ≥ 0.5×), three decimals,
 * so a miss never reads like the goal.
 * @param {number} target
 * @returns {(r: number) => string}
 */
export function fmtTimesNear(target) {
  return (r) => (Number.isFinite(r) && r !== target && fmtTimes(r) === fmtTimes(target) ? `${r.toFixed(3)}×` : fmtTimes(r))
}

/** The machine's 1-minute load average (the box is shared: every interleaved table says how busy it was). */
export function loadAverage1m() {
  return loadavg()[0] ?? Number.NaN
}
