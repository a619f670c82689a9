import { Counter, Histogram, type Registry } from 'prom-client'
import type { RequestSource, ResultStatus, TtsObserver } from '../core/ports/index.js'

/** Also the buckets of `tts_http_request_duration_seconds`, so the two read side by side. */
export const REQUEST_SECONDS_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]

/** `tts_errors_total`: counted by the service (source http, esl, cli, prewarm) and by the HTTP server's own error responses. */
export type ErrorsCounter = Counter<'source' | 'code'>

/** The `tts_requests_*`, `tts_errors_total` and `tts_coalesced_*` metrics, behind the TtsService's observer port. */
export function createTtsMetrics(registers: Registry[]): { readonly observer: TtsObserver; readonly errors: ErrorsCounter } {
  const requests = new Counter({
    name: 'tts_requests_total',
    help: 'Phrase requests answered by the TTS service, by source (http, esl, cli, prewarm) and result (hit, rendered, coalesced, error)',
    labelNames: ['source', 'result'] as const,
    registers,
  })
  const requestSeconds = new Histogram({
    name: 'tts_request_duration_seconds',
    help: 'Time to answer a successful phrase request (lookup, wait and render), by source and result',
    labelNames: ['source', 'result'] as const,
    buckets: REQUEST_SECONDS_BUCKETS,
    registers,
  })
  const errors = new Counter({
    name: 'tts_errors_total',
    help: 'Errors by source and stable error code (TTS_ERR_*)',
    labelNames: ['source', 'code'] as const,
    registers,
  })
  const coalesced = new Counter({
    name: 'tts_coalesced_waiters_total',
    help: 'Requests that joined a render already in flight for the same key instead of starting one',
    labelNames: ['source'] as const,
    registers,
  })
  const observer: TtsObserver = {
    result(source: RequestSource, status: ResultStatus, seconds: number): void {
      requests.inc({ source, result: status })
      requestSeconds.observe({ source, result: status }, seconds)
    },
    failure(source: RequestSource, code: string): void {
      requests.inc({ source, result: 'error' })
      errors.inc({ source, code })
    },
    coalesced(source: RequestSource): void {
      coalesced.inc({ source })
    },
  }
  return { observer, errors }
}
