// @ts-check
/**
 * The defaults and thresholds of load/k6/mixed.ts, read from its source, so the bench's
 * stand-in (scenarios/mixed.js) measures what the k6 script as shipped would judge. The fixed
 * thresholds are checked to be still there: if mixed.ts changes them, this throws instead of
 * quietly measuring against old figures.
 */
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { REPO_ROOT } from './ours.js'

export const MIXED_SCRIPT = path.join(REPO_ROOT, 'load/k6/mixed.ts')

/** Thresholds mixed.ts writes as literals, not as env defaults. */
export const MIXED_FIXED_THRESHOLDS = Object.freeze({
  failedRateAbort: "threshold: 'rate<0.05', abortOnFail: true, delayAbortEval: '20s'",
  failedRate: "threshold: 'rate<0.01', abortOnFail: false",
  checks: "checks: ['rate>0.99']",
  headerMissing: "tts_cache_header_missing: ['count==0']",
  executor: "executor: 'constant-arrival-rate'",
})

/**
 * k6 durations: `90s`, `2m`, `1m30s`, `1h`.
 * @param {string} text
 */
export function k6DurationSeconds(text) {
  const parts = [...text.matchAll(/(\d+(?:\.\d+)?)(h|m|s)/g)]
  if (parts.length === 0 || parts.map((p) => p[0]).join('') !== text) throw new Error(`not a k6 duration: ${JSON.stringify(text)}`)
  const unit = /** @type {Record<string, number>} */ ({ h: 3600, m: 60, s: 1 })
  return parts.reduce((s, p) => s + Number(p[1]) * (unit[p[2] ?? 's'] ?? 0), 0)
}

/**
 * @typedef {object} MixedSettings
 * @property {number} phrases
 * @property {number} zipfS
 * @property {string[]} voices
 * @property {string} phraseSet
 * @property {number} rate requests per second
 * @property {number} durationS
 * @property {number} maxVus
 * @property {number} prewarmTop
 * @property {number} prewarmTimeoutS
 * @property {number} gracefulStopS
 * @property {number} hitP95Ms
 * @property {number} hitP99Ms
 * @property {number} missP95Ms
 * @property {number} missP99Ms
 * @property {number} minHitRate
 * @property {number} maxFailedRate http_req_failed must stay below (end of run)
 * @property {number} abortFailedRate above this after `abortDelayS`, k6 aborts the run
 * @property {number} abortDelayS
 * @property {number} minChecksRate
 */

/**
 * @param {string} [source] mixed.ts's text (read from the repository when omitted)
 * @returns {MixedSettings}
 */
export function mixedSettings(source = readFileSync(MIXED_SCRIPT, 'utf8')) {
  /** @type {Map<string, string>} */
  const defaults = new Map()
  for (const m of source.matchAll(/env(?:Int|Float|String)\('(\w+)', ('[^']*'|[\d.]+)/g)) defaults.set(m[1] ?? '', (m[2] ?? '').replace(/^'|'$/g, ''))
  const value = (/** @type {string} */ name) => {
    const v = defaults.get(name)
    if (v === undefined) throw new Error(`mixed.ts no longer has a default for ${name}: update load/bench/lib/k6-mixed-settings.js`)
    return v
  }
  const voices = /envList\('VOICES', \[([^\]]*)\]\)/.exec(source)?.[1]
  const graceful = /gracefulStop: '([^']+)'/.exec(source)?.[1]
  if (voices === undefined || graceful === undefined) throw new Error('mixed.ts no longer lists VOICES or gracefulStop as expected: update load/bench/lib/k6-mixed-settings.js')
  for (const [name, literal] of Object.entries(MIXED_FIXED_THRESHOLDS)) {
    if (!source.includes(literal)) throw new Error(`mixed.ts no longer says ${literal} (${name}): update load/bench/lib/k6-mixed-settings.js`)
  }
  return {
    phrases: Number(value('PHRASES')),
    zipfS: Number(value('ZIPF_S')),
    voices: voices.split(',').map((v) => v.trim().replace(/^'|'$/g, '')).filter((v) => v !== ''),
    phraseSet: value('PHRASE_SET'),
    rate: Number(value('RATE')),
    durationS: k6DurationSeconds(value('DURATION')),
    maxVus: Number(value('MAX_VUS')),
    prewarmTop: Math.min(Number(value('PREWARM_TOP')), Number(value('PHRASES'))),
    prewarmTimeoutS: Number(value('PREWARM_TIMEOUT_S')),
    gracefulStopS: k6DurationSeconds(graceful),
    hitP95Ms: Number(value('HIT_P95_MS')),
    hitP99Ms: Number(value('HIT_P99_MS')),
    missP95Ms: Number(value('MISS_P95_MS')),
    missP99Ms: Number(value('MISS_P99_MS')),
    minHitRate: Number(value('MIN_HIT_RATE')),
    maxFailedRate: 0.01,
    abortFailedRate: 0.05,
    abortDelayS: 20,
    minChecksRate: 0.99,
  }
}
