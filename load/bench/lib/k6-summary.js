// @ts-check
/**
 * Reads the file `k6 run --summary-export <file>` writes (k6 v0.30 … v1.x keep this "legacy"
 * export format for compatibility) into the figures the bench's `mixed` section reports.
 *
 * The format, per metric under `metrics`:
 * - trend: `{ avg, min, med, max, "p(90)", "p(95)", … }` (the script's `summaryTrendStats`;
 *   time trends in milliseconds);
 * - rate: `{ passes, fails, value }` (`passes` counts the non-zero samples: for `http_req_failed`
 *   the failed requests, for `checks` the passed checks);
 * - counter: `{ count, rate }`; gauge: `{ value, min, max }`;
 * - `thresholds`: `{ "<expression>": <boolean> }` where **true means the threshold FAILED** (the
 *   export inverts handleSummary's `ok`; k6 keeps the quirk for compatibility, k6 issue #1498).
 * A metric that never got a sample is absent.
 */

/**
 * @typedef {object} K6Threshold
 * @property {string} metric
 * @property {string} expression e.g. `p(95)<25`
 * @property {boolean} passed
 */

/**
 * @typedef {object} K6Summary
 * @property {Record<string, Record<string, number>>} metrics every metric's numbers (thresholds left out)
 * @property {K6Threshold[]} thresholds every threshold k6 judged, with its verdict
 */

/**
 * @param {string} text the JSON k6 wrote
 * @returns {K6Summary}
 */
export function parseK6Summary(text) {
  /** @type {unknown} */
  const data = JSON.parse(text)
  const metricsIn = typeof data === 'object' && data !== null ? /** @type {Record<string, unknown>} */ (data).metrics : undefined
  if (typeof metricsIn !== 'object' || metricsIn === null) throw new Error('not a k6 --summary-export file: no "metrics" object')
  /** @type {K6Summary} */
  const out = { metrics: {}, thresholds: [] }
  for (const [name, raw] of Object.entries(metricsIn)) {
    if (typeof raw !== 'object' || raw === null) throw new Error(`k6 summary: metric ${name} is not an object`)
    /** @type {Record<string, number>} */
    const values = {}
    for (const [key, value] of Object.entries(raw)) {
      if (key === 'thresholds') {
        for (const [expression, failed] of Object.entries(/** @type {Record<string, unknown>} */ (value))) {
          if (typeof failed !== 'boolean') throw new Error(`k6 summary: threshold ${name} ${expression} is not a boolean`)
          out.thresholds.push({ metric: name, expression, passed: !failed })
        }
      } else if (typeof value === 'number') {
        values[key] = value
      }
    }
    out.metrics[name] = values
  }
  return out
}

/**
 * The verdict k6 gave one threshold; undefined when the export has none (metric never sampled).
 * @param {K6Summary} summary @param {string} metric @param {(expression: string) => boolean} [which]
 */
export function thresholdPassed(summary, metric, which = () => true) {
  const found = summary.thresholds.filter((t) => t.metric === metric && which(t.expression))
  return found.length === 0 ? undefined : found.every((t) => t.passed)
}

/**
 * mixed.ts's figures, by the names its thresholds and custom metrics use.
 * @param {K6Summary} summary
 */
export function mixedFigures(summary) {
  const m = (/** @type {string} */ name) => summary.metrics[name]
  const num = (/** @type {string} */ name, /** @type {string} */ key) => m(name)?.[key] ?? Number.NaN
  const failed = m('http_req_failed')
  const checks = m('checks')
  const hitRate = m('tts_cache_hit_rate')
  return {
    /** http_req_failed: its `passes` are the failed requests */
    failedRate: num('http_req_failed', 'value'),
    failedRequests: failed?.passes ?? Number.NaN,
    requests: failed === undefined ? Number.NaN : (failed.passes ?? 0) + (failed.fails ?? 0),
    checksRate: num('checks', 'value'),
    checks: checks === undefined ? Number.NaN : (checks.passes ?? 0) + (checks.fails ?? 0),
    checksPassed: checks?.passes ?? Number.NaN,
    hit: { p50: num('tts_hit_duration', 'med'), p95: num('tts_hit_duration', 'p(95)'), p99: num('tts_hit_duration', 'p(99)'), max: num('tts_hit_duration', 'max') },
    miss: { p50: num('tts_miss_duration', 'med'), p95: num('tts_miss_duration', 'p(95)'), p99: num('tts_miss_duration', 'p(99)'), max: num('tts_miss_duration', 'max') },
    hitRate: num('tts_cache_hit_rate', 'value'),
    answered: hitRate === undefined ? Number.NaN : (hitRate.passes ?? 0) + (hitRate.fails ?? 0),
    counts: {
      hit: m('tts_cache_hit')?.count ?? 0,
      rendered: m('tts_cache_rendered')?.count ?? 0,
      coalesced: m('tts_cache_coalesced')?.count ?? 0,
      /** a counter never incremented is absent from the export: absent is 0 */
      missing: m('tts_cache_header_missing')?.count ?? 0,
    },
    droppedIterations: m('dropped_iterations')?.count ?? 0,
    iterations: m('iterations')?.count ?? Number.NaN,
    vusMax: num('vus_max', 'max'),
  }
}
