/**
 * The slice of the service's HTTP API the k6 scripts use, in one place:
 *   GET  /v1/tts?text=&voice=   → 200 audio/wav, X-TTS-Cache: hit | rendered | coalesced
 *   POST /v1/prewarm {items}    → 202 {id, ...}
 *   GET  /v1/prewarm/:id        → {state: running|done|cancelled, total, done, failed, cached, rendered, errors}
 *   GET  /metrics               → Prometheus text
 */
import http from 'k6/http'
import { sleep } from 'k6'
import { authHeaders, BASE_URL } from './env.ts'
import { ttsQuery, type Phrase } from './phrases.ts'

/** How the service answered a GET /v1/tts (the X-TTS-Cache header). */
export type CacheStatus = 'hit' | 'rendered' | 'coalesced' | 'missing'

/** k6 canonicalises header names (X-Tts-Cache); look them up without caring about case. */
export function header(res: http.RefinedResponse<http.ResponseType | undefined>, name: string): string | undefined {
  const wanted = name.toLowerCase()
  for (const key of Object.keys(res.headers)) {
    if (key.toLowerCase() === wanted) return res.headers[key]
  }
  return undefined
}

export function cacheStatusOf(res: http.RefinedResponse<http.ResponseType | undefined>): CacheStatus {
  const value = (header(res, 'X-TTS-Cache') ?? '').trim().toLowerCase()
  return value === 'hit' || value === 'rendered' || value === 'coalesced' ? value : 'missing'
}

/**
 * GET the WAV of a phrase. The body is discarded (`responseType: 'none'`): timings still
 * cover the whole download, and VUs do not hold megabytes of audio.
 */
export function getTts(phrase: Phrase, tags: Record<string, string> = {}): http.RefinedResponse<'none'> {
  return http.get(`${BASE_URL}/v1/tts?${ttsQuery(phrase)}`, {
    headers: authHeaders(),
    responseType: 'none',
    tags: { name: 'GET /v1/tts', ...tags },
  })
}

export interface PrewarmItem {
  text: string
  voice?: string
  engine?: string
  rate?: number
  pin?: boolean
}

export interface PrewarmItemError {
  index?: number
  code?: string
  message?: string
}

export interface PrewarmProgress {
  /** running, then done (even if some items failed) or cancelled (the service shut down). */
  state: string
  total: number
  /** Items now in the cache (cached at submission, hit, rendered or coalesced). */
  done: number
  /** Rejected, failed or cancelled items; done + failed = total once not running. */
  failed: number
  /** Items already cached when the batch was submitted. */
  cached: number
  /** Items the batch rendered itself. */
  rendered: number
  /** The first failures the service kept. */
  errors: PrewarmItemError[]
}

/** States after which a job's counters no longer move. */
export const PREWARM_TERMINAL_STATES: readonly string[] = ['done', 'cancelled']

export function isPrewarmFinished(p: PrewarmProgress): boolean {
  return PREWARM_TERMINAL_STATES.includes(p.state)
}

/** POST /v1/prewarm; returns the job id, or throws with the status and body. */
export function submitPrewarm(items: readonly PrewarmItem[]): string {
  const res = http.post(`${BASE_URL}/v1/prewarm`, JSON.stringify({ items }), {
    headers: authHeaders({ 'Content-Type': 'application/json' }),
    tags: { name: 'POST /v1/prewarm' },
  })
  if (res.status !== 202) throw new Error(`POST /v1/prewarm: expected 202, got ${res.status}: ${String(res.body).slice(0, 300)}`)
  const id = (res.json() as { id?: unknown } | null)?.id
  if (typeof id !== 'string' && typeof id !== 'number') throw new Error(`POST /v1/prewarm: no id in ${String(res.body).slice(0, 300)}`)
  return String(id)
}

export function prewarmProgress(id: string): PrewarmProgress {
  const res = http.get(`${BASE_URL}/v1/prewarm/${encodeURIComponent(id)}`, {
    headers: authHeaders(),
    tags: { name: 'GET /v1/prewarm/:id' },
  })
  if (res.status !== 200) throw new Error(`GET /v1/prewarm/${id}: expected 200, got ${res.status}: ${String(res.body).slice(0, 300)}`)
  const body = res.json() as Partial<PrewarmProgress> | null
  return {
    state: String(body?.state ?? 'unknown'),
    total: Number(body?.total ?? 0),
    done: Number(body?.done ?? 0),
    failed: Number(body?.failed ?? 0),
    cached: Number(body?.cached ?? 0),
    rendered: Number(body?.rendered ?? 0),
    errors: Array.isArray(body?.errors) ? body.errors : [],
  }
}

/**
 * Polls every `intervalSeconds` until every job is finished or `timeoutSeconds` pass.
 * Bounded by count and time; `onPoll` sees the summed progress after each round.
 */
export function waitForPrewarm(
  ids: readonly string[],
  timeoutSeconds: number,
  intervalSeconds: number,
  onPoll: (sum: PrewarmProgress, finished: number) => void = () => undefined,
): { progress: PrewarmProgress; finished: boolean } {
  const deadline = Date.now() + timeoutSeconds * 1000
  const maxRounds = Math.ceil(timeoutSeconds / Math.max(intervalSeconds, 0.05)) + 1
  const latest = new Map<string, PrewarmProgress>()
  for (let round = 0; round < maxRounds; round++) {
    for (const id of ids) {
      const known = latest.get(id)
      if (known !== undefined && isPrewarmFinished(known)) continue
      latest.set(id, prewarmProgress(id))
    }
    const sum: PrewarmProgress = { state: 'running', total: 0, done: 0, failed: 0, cached: 0, rendered: 0, errors: [] }
    let finished = 0
    let cancelled = false
    for (const p of latest.values()) {
      sum.total += p.total
      sum.done += p.done
      sum.failed += p.failed
      sum.cached += p.cached
      sum.rendered += p.rendered
      if (sum.errors.length < 10) sum.errors.push(...p.errors.slice(0, 10 - sum.errors.length))
      if (isPrewarmFinished(p)) finished++
      if (p.state === 'cancelled') cancelled = true
    }
    if (finished === ids.length) sum.state = cancelled ? 'cancelled' : 'done'
    onPoll(sum, finished)
    if (finished === ids.length) return { progress: sum, finished: true }
    if (Date.now() >= deadline) return { progress: sum, finished: false }
    sleep(intervalSeconds)
  }
  return { progress: { state: 'timeout', total: 0, done: 0, failed: 0, cached: 0, rendered: 0, errors: [] }, finished: false }
}

/**
 * Sum of every sample of `metric` in Prometheus text (all label sets), or only the samples
 * whose labels include `labelFilter` (e.g. `engine="espeak-ng"`). NaN when absent.
 */
export function sumPrometheus(text: string, metric: string, labelFilter = ''): number {
  let sum = 0
  let found = false
  for (const line of text.split('\n')) {
    if (!line.startsWith(metric)) continue
    const rest = line.slice(metric.length)
    if (rest[0] !== '{' && rest[0] !== ' ') continue
    if (labelFilter !== '' && !rest.includes(labelFilter)) continue
    const value = Number(rest.slice(rest.lastIndexOf(rest[0] === '{' ? '}' : ' ') + 1).trim().split(' ')[0])
    if (Number.isFinite(value)) {
      sum += value
      found = true
    }
  }
  return found ? sum : Number.NaN
}

/** GET each /metrics URL and add up `metric` across them (a cluster is several instances). */
export function readCounter(metricsUrls: readonly string[], metric: string, labelFilter = ''): number {
  let total = 0
  for (const url of metricsUrls) {
    const res = http.get(url, { headers: authHeaders(), tags: { name: 'GET /metrics' } })
    if (res.status !== 200) throw new Error(`GET ${url}: expected 200, got ${res.status}`)
    const value = sumPrometheus(String(res.body), metric, labelFilter)
    if (Number.isNaN(value)) continue // no render yet on that instance: the counter may not exist
    total += value
  }
  return total
}
