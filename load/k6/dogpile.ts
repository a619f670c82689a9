/**
 * dogpile — VUS virtual users ask for the same brand-new sentence at the same instant.
 * The service must render it once: everyone else waits for that render (coalesced).
 *
 *   k6 run -e BASE_URL=http://tts:8080 -e TTS_API_TOKEN=... load/k6/dogpile.ts
 *
 * Two independent verdicts:
 * 1. the render counter on /metrics (RENDERS_METRIC, summed over METRICS_URLS — list every
 *    instance of a cluster) grows by exactly one between setup() and teardown();
 * 2. exactly one response says X-TTS-Cache: rendered (threshold tts_cache_rendered count==1).
 * Run it against an otherwise idle service: other traffic rendering meanwhile would move the
 * counter (narrow it with RENDERS_LABEL_FILTER, e.g. engine="espeak-ng").
 */
import { check, sleep } from 'k6'
import { Counter, Trend } from 'k6/metrics'
import type { Options } from 'k6/options'
import { cacheStatusOf, getTts, readCounter } from './lib/api.ts'
import { BASE_URL, envInt, envList, envString } from './lib/env.ts'

/** Engine runs, from src/observability/metrics.ts (a Counter labelled engine, result=ok|error). */
export const RENDERS_METRIC = 'tts_renders_total'

const VUS = envInt('VUS', 200, 2)
const VOICE = envString('VOICE', '')
const METRICS_URLS = envList('METRICS_URLS', [`${BASE_URL}/metrics`])
const RENDERS_LABEL_FILTER = envString('RENDERS_LABEL_FILTER', '')
/** Time for every VU to be initialised before the common start instant. */
const START_DELAY_MS = envInt('START_DELAY_MS', 3000, 100)

const rendered = new Counter('tts_cache_rendered')
const coalesced = new Counter('tts_cache_coalesced')
const hits = new Counter('tts_cache_hit')
const renderDelta = new Counter('dogpile_renders')
const startSkew = new Trend('dogpile_start_skew', true)

export const options: Options = {
  scenarios: {
    dogpile: { executor: 'per-vu-iterations', vus: VUS, iterations: 1, maxDuration: '2m' },
  },
  setupTimeout: '30s',
  teardownTimeout: '30s',
  thresholds: {
    http_req_failed: ['rate==0'],
    checks: ['rate==1'],
    dogpile_renders: ['count==1'],
    tts_cache_rendered: ['count==1'],
  },
}

interface SetupData {
  text: string
  rendersBefore: number
  startAt: number
}

export function setup(): SetupData {
  // Digits of the clock and a random tail: never in any cache before.
  const nonce = `${Date.now()} ${Math.floor(Math.random() * 1e6)}`
  return {
    text: `Dogpile check ${nonce}. Every caller asked for this sentence at the same moment.`,
    rendersBefore: readCounter(METRICS_URLS, RENDERS_METRIC, RENDERS_LABEL_FILTER),
    startAt: Date.now() + START_DELAY_MS,
  }
}

export default function (data: SetupData): void {
  const wait = data.startAt - Date.now()
  if (wait > 0) sleep(wait / 1000)
  startSkew.add(Date.now() - data.startAt)
  const res = getTts({ text: data.text, voice: VOICE })
  const status = cacheStatusOf(res)
  check(res, {
    'status is 200': (r) => r.status === 200,
    'served as rendered, coalesced or hit': () => status !== 'missing',
  })
  if (status === 'rendered') rendered.add(1)
  else if (status === 'coalesced') coalesced.add(1)
  else if (status === 'hit') hits.add(1)
}

export function teardown(data: SetupData): void {
  // Give a render that finished after the last response a moment to be counted.
  sleep(0.5)
  const after = readCounter(METRICS_URLS, RENDERS_METRIC, RENDERS_LABEL_FILTER)
  const delta = after - data.rendersBefore
  renderDelta.add(delta)
  console.log(`${RENDERS_METRIC}: ${data.rendersBefore} -> ${after} (${delta} render(s) for ${VUS} simultaneous requests)`)
  check(delta, { 'exactly one render on /metrics': (d) => d === 1 })
}
