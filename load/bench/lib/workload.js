// @ts-check
/**
 * Deterministic workloads: a seeded PRNG, a Zipf sampler and sentence generators.
 *
 * Every sentence the benchmark generates matches SHELL_SAFE_TEXT. That matters because the
 * Lua baseline (lua-baseline.js) builds a shell string from the text, exactly as the classic
 * scripts do; the benchmark only ever feeds it text it generated itself.
 */

/** Letters, digits, spaces, commas and full stops: nothing a POSIX shell interprets inside "...". */
export const SHELL_SAFE_TEXT = /^[A-Za-z0-9 ,.]+$/

/**
 * mulberry32: a tiny, fast, seedable PRNG (uniform in [0, 1)).
 * @param {number} seed
 * @returns {() => number}
 */
export function seededRandom(seed) {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/**
 * Zipf over ranks 0..n-1: P(rank k) ∝ 1/(k+1)^s. Sampling is a binary search in the CDF.
 * @param {number} n
 * @param {number} s exponent (1.0 is the classic Zipf; IVR prompt popularity is usually 0.8–1.2)
 * @param {() => number} random
 * @returns {() => number} a sampler returning a rank
 */
export function zipfSampler(n, s, random) {
  const cdf = new Float64Array(n)
  let total = 0
  for (let k = 0; k < n; k++) {
    total += 1 / Math.pow(k + 1, s)
    cdf[k] = total
  }
  for (let k = 0; k < n; k++) cdf[k] = /** @type {number} */ (cdf[k]) / total
  return () => {
    const u = random()
    let lo = 0
    let hi = n - 1
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (/** @type {number} */ (cdf[mid]) < u) lo = mid + 1
      else hi = mid
    }
    return lo
  }
}

const SUBJECTS = ['your account', 'the balance', 'your order', 'the next agent', 'this call', 'your appointment', 'the payment', 'our office', 'the request', 'your ticket']
const VERBS = ['will be reviewed', 'is ready', 'has been updated', 'is on hold', 'was received', 'will be confirmed', 'is being processed', 'was scheduled', 'needs attention', 'is complete']
const TAILS = ['in a few minutes', 'today', 'as soon as possible', 'before noon', 'by the end of the day', 'shortly', 'this week', 'after the tone', 'right away', 'tomorrow morning']
const OPENERS = ['Thank you for calling.', 'Please listen carefully.', 'Welcome back.', 'Hello.', 'Good news.', 'Please note.', 'One moment.', 'Attention please.']

/**
 * A short IVR-style sentence, unique per (runId, index): the index and run id are spelled
 * into it so a new run is always a cold cache, and two indexes never collide.
 * @param {string} runId letters and digits only
 * @param {number} index
 */
export function sentence(runId, index) {
  const r = seededRandom(index * 7919 + runId.length)
  const pick = (/** @type {readonly string[]} */ list) => /** @type {string} */ (list[Math.floor(r() * list.length)])
  const text = `${pick(OPENERS)} Reference ${runId} ${index}, ${pick(SUBJECTS)} ${pick(VERBS)} ${pick(TAILS)}.`
  if (!SHELL_SAFE_TEXT.test(text)) throw new Error(`generated text is not shell-safe: ${text}`)
  return text
}

/**
 * `count` distinct sentences for one run.
 * @param {string} runId
 * @param {number} count
 * @param {number} [offset]
 */
export function sentences(runId, count, offset = 0) {
  return Array.from({ length: count }, (_, i) => sentence(runId, offset + i))
}

/** A short id of letters only (espeak-ng reads it out; digits would be read as numbers anyway). */
export function newRunId() {
  const letters = 'abcdefghjkmnpqrstuvwxyz'
  let id = ''
  for (let i = 0; i < 6; i++) id += letters[Math.floor(Math.random() * letters.length)]
  return `run${id}`
}
