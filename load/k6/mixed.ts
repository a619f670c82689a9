/**
 * mixed — realistic IVR traffic against GET /v1/tts.
 *
 * PHRASES phrases (default 1,000) with Zipf(ZIPF_S) popularity over a few VOICES, arriving
 * at RATE requests/s for DURATION (an open model: calls do not wait for each other). setup()
 * pre-warms the PREWARM_TOP most popular phrases, as an operator would before opening the
 * lines, so the run settles at about 95% hits; the rest render on first use.
 *
 *   k6 run -e BASE_URL=http://tts:8080 -e TTS_API_TOKEN=... load/k6/mixed.ts
 *
 * Thresholds: error rate (aborts the run early when clearly broken), p95/p99 of hits and of
 * renders separately (one slow render should not hide a slow hit path), and the hit rate.
 * Custom metrics: tts_cache_hit / tts_cache_rendered / tts_cache_coalesced (counters from the
 * X-TTS-Cache header), tts_cache_hit_rate, tts_hit_duration, tts_miss_duration.
 */
import { check } from 'k6'
import exec from 'k6/execution'
import { Counter, Rate, Trend } from 'k6/metrics'
import type { Options } from 'k6/options'
import { cacheStatusOf, getTts, submitPrewarm, waitForPrewarm } from './lib/api.ts'
import { envFloat, envInt, envList, envString } from './lib/env.ts'
import { phraseSet, zipfSampler } from './lib/phrases.ts'

const PHRASES = envInt('PHRASES', 1000, 1)
const ZIPF_S = envFloat('ZIPF_S', 1.0)
/** espeak-ng voices by default; set VOICES for another engine ('' entries = default voice). */
const VOICES = envList('VOICES', ['en-us', 'en-gb', 'en-gb-scotland'])
/** Same name, same phrases: a re-run is warm. Use a new name for a cold start. */
const PHRASE_SET = envString('PHRASE_SET', 'k6mixed')
const RATE = envInt('RATE', 100, 1)
const DURATION = envString('DURATION', '2m')
const MAX_VUS = envInt('MAX_VUS', 200, 1)
const PREWARM_TOP = Math.min(envInt('PREWARM_TOP', 300), PHRASES)
const PREWARM_TIMEOUT_S = envInt('PREWARM_TIMEOUT_S', 600, 1)
/** Latency budgets (ms). Hits are file reads; renders include the engine. */
const HIT_P95_MS = envInt('HIT_P95_MS', 25)
const HIT_P99_MS = envInt('HIT_P99_MS', 100)
const MISS_P95_MS = envInt('MISS_P95_MS', 3000)
const MISS_P99_MS = envInt('MISS_P99_MS', 6000)
const MIN_HIT_RATE = envFloat('MIN_HIT_RATE', 0.9)

const phrases = phraseSet(PHRASE_SET, PHRASES, VOICES)
const nextRank = zipfSampler(PHRASES, ZIPF_S)

const hits = new Counter('tts_cache_hit')
const rendered = new Counter('tts_cache_rendered')
const coalesced = new Counter('tts_cache_coalesced')
const missingHeader = new Counter('tts_cache_header_missing')
const hitRate = new Rate('tts_cache_hit_rate')
const hitDuration = new Trend('tts_hit_duration', true)
const missDuration = new Trend('tts_miss_duration', true)

export const options: Options = {
  scenarios: {
    ivr: {
      executor: 'constant-arrival-rate',
      rate: RATE,
      timeUnit: '1s',
      duration: DURATION,
      preAllocatedVUs: Math.min(MAX_VUS, Math.max(10, Math.ceil(RATE / 5))),
      maxVUs: MAX_VUS,
      gracefulStop: '30s',
    },
  },
  setupTimeout: `${PREWARM_TIMEOUT_S + 60}s`,
  thresholds: {
    // Clearly broken (>5% errors after the first 20 s): stop instead of hammering on.
    http_req_failed: [
      { threshold: 'rate<0.05', abortOnFail: true, delayAbortEval: '20s' },
      { threshold: 'rate<0.01', abortOnFail: false },
    ],
    checks: ['rate>0.99'],
    tts_hit_duration: [`p(95)<${HIT_P95_MS}`, `p(99)<${HIT_P99_MS}`],
    tts_miss_duration: [`p(95)<${MISS_P95_MS}`, `p(99)<${MISS_P99_MS}`],
    tts_cache_hit_rate: [`rate>${MIN_HIT_RATE}`],
    // Every response must say how it was served.
    tts_cache_header_missing: ['count==0'],
  },
  summaryTrendStats: ['avg', 'med', 'p(90)', 'p(95)', 'p(99)', 'max'],
}

export function setup(): void {
  if (PREWARM_TOP === 0) return
  const items = phrases.slice(0, PREWARM_TOP).map((p) => (p.voice === '' ? { text: p.text } : { text: p.text, voice: p.voice }))
  const id = submitPrewarm(items)
  const { progress, finished } = waitForPrewarm([id], PREWARM_TIMEOUT_S, 1)
  console.log(`pre-warmed the top ${PREWARM_TOP}: ${progress.done} cached (${progress.rendered} rendered now), ${progress.failed} failed`)
  if (progress.failed > 0) console.warn(`pre-warm failures (check VOICES for this engine): ${JSON.stringify(progress.errors)}`)
  if (!finished) exec.test.abort(`pre-warm did not finish within ${PREWARM_TIMEOUT_S}s`)
}

export default function (): void {
  const phrase = phrases[nextRank()]
  if (phrase === undefined) return
  const res = getTts(phrase)
  const status = cacheStatusOf(res)
  check(res, {
    'status is 200': (r) => r.status === 200,
    'X-TTS-Cache present': () => status !== 'missing',
  })
  if (res.status !== 200) return
  switch (status) {
    case 'hit':
      hits.add(1)
      hitDuration.add(res.timings.duration)
      break
    case 'rendered':
      rendered.add(1)
      missDuration.add(res.timings.duration)
      break
    case 'coalesced':
      coalesced.add(1)
      missDuration.add(res.timings.duration)
      break
    case 'missing':
      missingHeader.add(1)
      break
  }
  hitRate.add(status === 'hit')
}
