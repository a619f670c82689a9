import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client'
import type { HttpObserver, QueueStats, RenderPoolObserver, RequestSource, ResultStatus, StoreStats, TtsObserver } from '../core/ports/index.js'
import type { EslObserver } from '../esl/index.js'
import { createEslMetrics } from './esl-metrics.js'
import { registerQueueGauges, registerStoreGauges, type StatsSource } from './stats-gauges.js'

export type { StatsSource }

export interface MetricsOptions {
  /** Also export prom-client's process/runtime metrics (`process_*`, `nodejs_*`). Default true. */
  readonly defaultMetrics?: boolean
  /** Read at scrape time for the `tts_cache_*` gauges. Can also be set later with `watchStore`. */
  readonly store?: StatsSource<StoreStats>
  /** Read at scrape time for the `tts_queue_*` gauges. Can also be set later with `watchQueue`. */
  readonly queue?: StatsSource<QueueStats>
  /** Told when a stats source throws during a scrape (the scrape still succeeds). */
  readonly onCollectError?: (err: unknown, source: 'store' | 'queue') => void
}

const REQUEST_SECONDS_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]
const RENDER_SECONDS_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60]
const QUEUE_WAIT_SECONDS_BUCKETS = [0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30]

/**
 * The service's Prometheus metrics, in a registry of its own (never prom-client's global
 * one), so tests and several apps in one process do not collide. Adapters report through
 * the observer objects (`tts`, `renderPool`, `esl`, `http`); cache and queue gauges are read
 * from `stats()` at scrape time, so they are never stale and cost nothing between scrapes.
 * Every metric is documented in docs/http.md.
 */
export class Metrics {
  readonly registry: Registry
  /** Pass as `observer` to the TtsService. */
  readonly tts: TtsObserver
  /** Pass to the render pool (in-process queue, BullMQ worker). */
  readonly renderPool: Required<RenderPoolObserver>
  /** Pass to the ESL outbound server and inbound client (implements src/esl/ports.ts EslObserver). */
  readonly esl: EslObserver
  /** Used by the HTTP server. */
  readonly http: Required<HttpObserver>

  #store: StatsSource<StoreStats> | undefined
  #queue: StatsSource<QueueStats> | undefined
  readonly #onCollectError: (err: unknown, source: 'store' | 'queue') => void

  constructor(options: MetricsOptions = {}) {
    const registry = new Registry()
    this.registry = registry
    this.#store = options.store
    this.#queue = options.queue
    this.#onCollectError = options.onCollectError ?? (() => undefined)
    if (options.defaultMetrics !== false) collectDefaultMetrics({ register: registry })
    const registers = [registry]

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
    this.tts = {
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

    const renders = new Counter({
      name: 'tts_renders_total',
      help: 'Engine runs by engine and result (ok, error)',
      labelNames: ['engine', 'result'] as const,
      registers,
    })
    const renderFailures = new Counter({
      name: 'tts_render_failures_total',
      help: 'Failed engine runs by engine and error code',
      labelNames: ['engine', 'code'] as const,
      registers,
    })
    const renderSeconds = new Histogram({
      name: 'tts_render_duration_seconds',
      help: 'Engine run time (excluding the queue wait) by engine and result',
      labelNames: ['engine', 'result'] as const,
      buckets: RENDER_SECONDS_BUCKETS,
      registers,
    })
    const queueWait = new Histogram({
      name: 'tts_queue_wait_seconds',
      help: 'Time a render job waited in the queue before a worker took it',
      buckets: QUEUE_WAIT_SECONDS_BUCKETS,
      registers,
    })
    this.renderPool = {
      renderFinished(engine: string, seconds: number, ok: boolean, code?: string): void {
        const result = ok ? 'ok' : 'error'
        renders.inc({ engine, result })
        renderSeconds.observe({ engine, result }, seconds)
        if (!ok) renderFailures.inc({ engine, code: code ?? 'TTS_ERR_INTERNAL' })
      },
      queueWait(seconds: number): void {
        queueWait.observe(seconds)
      },
    }

    this.esl = createEslMetrics(registers)

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
    this.http = {
      requestFinished(method: string, route: string, statusCode: number, seconds: number): void {
        httpRequests.inc({ method, route, status_code: String(statusCode) })
        httpSeconds.observe({ method, route }, seconds)
      },
      errorResponse(code: string): void {
        errors.inc({ source: 'http', code })
      },
    }

    registerStoreGauges(registers, () => this.#read('store', this.#store))
    registerQueueGauges(registers, () => this.#read('queue', this.#queue))
  }

  /** Read `store.stats()` at every scrape (replaces any earlier store). */
  watchStore(store: StatsSource<StoreStats>): void {
    this.#store = store
  }

  /** Read `queue.stats()` at every scrape (replaces any earlier queue). */
  watchQueue(queue: StatsSource<QueueStats>): void {
    this.#queue = queue
  }

  /** The Content-Type of `text()`: Prometheus text exposition format 0.0.4. */
  get contentType(): string {
    return this.registry.contentType
  }

  /** Every metric in the Prometheus text format. */
  text(): Promise<string> {
    return this.registry.metrics()
  }

  /** A stats source's figures, or undefined when unset or failing (the scrape goes on). */
  #read<S>(name: 'store' | 'queue', source: StatsSource<S> | undefined): S | undefined {
    try {
      return source?.stats()
    } catch (err) {
      this.#onCollectError(err, name)
      return undefined
    }
  }
}
