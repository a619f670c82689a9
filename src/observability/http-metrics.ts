import { Counter, Histogram, type Registry } from 'prom-client'
import type { HttpObserver } from '../core/ports/index.js'
import { REQUEST_SECONDS_BUCKETS, type ErrorsCounter } from './tts-metrics.js'

/**
 * The `tts_http_*` metrics, behind the HTTP server's observer port. Its own error responses
 * (auth, validation, 404, pressure…) go to the service's `tts_errors_total` under source http.
 */
export function createHttpMetrics(registers: Registry[], errors: ErrorsCounter): Required<HttpObserver> {
  const httpRequests = new Counter({
    name: 'tts_http_requests_total',
    help: 'HTTP responses by method, route template and status code',
    labelNames: ['method', 'route', 'status_code'] as const,
    registers,
  })
  const httpSeconds = new Histogram({
    name: 'tts_http_request_duration_seconds',
    help: 'HTTP response time by method and route template',
    labelNames: ['method', 'route'] as const,
    buckets: REQUEST_SECONDS_BUCKETS,
    registers,
  })
  return {
    requestFinished(method: string, route: string, statusCode: number, seconds: number): void {
      httpRequests.inc({ method, route, status_code: String(statusCode) })
      httpSeconds.observe({ method, route }, seconds)
    },
    errorResponse(code: string): void {
      errors.inc({ source: 'http', code })
    },
  }
}
