import { collectDefaultMetrics, Registry } from 'prom-client'
import type { HttpObserver, QueueStats, RenderPoolObserver, StoreStats, TtsObserver } from '../core/ports/index.js'
import type { EslObserver } from '../esl/index.js'
import { registerBuildInfo } from './build-info.js'
import { createEslMetrics } from './esl-metrics.js'
import { createHttpMetrics } from './http-metrics.js'
import { createRenderPoolMetrics } from './render-metrics.js'
import { registerQueueGauges, registerStoreGauges, type StatsSource } from './stats-gauges.js'
import { createTtsMetrics } from './tts-metrics.js'

export type { StatsSource }

const COLLIDING_DEFAULT_GAUGES = ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'] as const

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
    if (options.defaultMetrics !== false) {
      collectDefaultMetrics({ register: registry })
      // prom-client's gauges named `<x>_total` and its per-type gauges `<x>` are one OpenMetrics
      // family (and a gauge ending in _total fails promtool check metrics): the per-type ones
      // stay, `sum(nodejs_active_handles)` is the total.
      for (const name of COLLIDING_DEFAULT_GAUGES) registry.removeSingleMetric(name)
    }
    const registers = [registry]
    registerBuildInfo(registers)
    // One family group per observer port (tts-metrics.ts, render-metrics.ts, esl-metrics.ts,
    // http-metrics.ts), registered in this order: the exposition lists them so.
    const tts = createTtsMetrics(registers)
    this.tts = tts.observer
    this.renderPool = createRenderPoolMetrics(registers)
    this.esl = createEslMetrics(registers)
    this.http = createHttpMetrics(registers, tts.errors)
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
