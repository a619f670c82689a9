/**
 * IVR-style phrases and Zipf popularity for the k6 scripts. Self-contained (no Node APIs):
 * load/k6 can be copied to any box that has k6.
 *
 * A phrase set is named (PHRASE_SET): the same name gives the same phrases, so a second run
 * finds what the first one rendered; a new name is a cold cache.
 */

export interface Phrase {
  readonly text: string
  /** '' means the service's default voice (the parameter is then omitted). */
  readonly voice: string
}

/** mulberry32: small seedable PRNG, uniform in [0, 1). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** A stable 32-bit seed from a string (FNV-1a). */
export function seedOf(name: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < name.length; i++) {
    h ^= name.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  return h >>> 0
}

/**
 * Zipf over ranks 0..n-1: P(rank k) ∝ 1/(k+1)^s. Returns a sampler (binary search in the CDF).
 * With s = 1 and n = 1000 the top 10 phrases take ~39% of the traffic, the top 100 ~69%.
 */
export function zipfSampler(n: number, s: number, random: () => number = Math.random): () => number {
  const cdf: number[] = new Array<number>(n)
  let total = 0
  for (let k = 0; k < n; k++) {
    total += 1 / Math.pow(k + 1, s)
    cdf[k] = total
  }
  for (let k = 0; k < n; k++) cdf[k] = (cdf[k] ?? 0) / total
  return () => {
    const u = random()
    let lo = 0
    let hi = n - 1
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if ((cdf[mid] ?? 1) < u) lo = mid + 1
      else hi = mid
    }
    return lo
  }
}

const OPENERS = ['Thank you for calling.', 'Please listen carefully.', 'Welcome back.', 'Hello.', 'Good news.', 'Please note.', 'One moment.', 'Attention please.']
const SUBJECTS = ['your account', 'the balance', 'your order', 'the next agent', 'this call', 'your appointment', 'the payment', 'our office', 'the request', 'your ticket']
const VERBS = ['will be reviewed', 'is ready', 'has been updated', 'is on hold', 'was received', 'will be confirmed', 'is being processed', 'was scheduled', 'needs attention', 'is complete']
const TAILS = ['in a few minutes', 'today', 'as soon as possible', 'before noon', 'by the end of the day', 'shortly', 'this week', 'after the tone', 'right away', 'tomorrow morning']

function pick(list: readonly string[], random: () => number): string {
  return list[Math.floor(random() * list.length)] ?? ''
}

/**
 * `count` distinct phrases of the set `setName`; rank k (0 = most popular) gets voice
 * voices[k % voices.length], so every voice has popular and rare phrases.
 */
export function phraseSet(setName: string, count: number, voices: readonly string[]): Phrase[] {
  const random = seededRandom(seedOf(setName))
  const phrases: Phrase[] = []
  for (let k = 0; k < count; k++) {
    const text = `${pick(OPENERS, random)} Item ${k + 1} of ${setName}, ${pick(SUBJECTS, random)} ${pick(VERBS, random)} ${pick(TAILS, random)}.`
    phrases.push({ text, voice: voices.length === 0 ? '' : (voices[k % voices.length] ?? '') })
  }
  return phrases
}

/** Query string of GET /v1/tts for a phrase (k6 has no URLSearchParams). */
export function ttsQuery(phrase: Phrase): string {
  const voice = phrase.voice === '' ? '' : `&voice=${encodeURIComponent(phrase.voice)}`
  return `text=${encodeURIComponent(phrase.text)}${voice}`
}
