import { monitorEventLoopDelay } from 'node:perf_hooks'
import { getHeapStatistics } from 'node:v8'
import underPressure from '@fastify/under-pressure'
import type { FastifyContextConfig, FastifyInstance } from 'fastify'
import { TtsError } from '../core/errors.js'
import { EventLoopDelaySampler } from './event-loop-delay.js'

/** Event-loop and memory limits beyond which every request (but /healthz and /metrics) gets 503 + Retry-After. */
export interface PressureOptions {
  /** Mean event-loop delay over a sample interval, ms; an interval with no sample keeps the previous figure. Default 1000; 0 disables. */
  readonly maxEventLoopDelayMs?: number
  /** V8 heap in use, bytes. Default 90 % of the heap limit; 0 disables. */
  readonly maxHeapUsedBytes?: number
  /** Resident set size, bytes. Default 0 (disabled). */
  readonly maxRssBytes?: number
  /** Event-loop utilisation 0..1. Default 0 (disabled: a busy but healthy server is near 1). */
  readonly maxEventLoopUtilization?: number
  /** How often the figures are sampled, ms (at least 10). Default 1000. */
  readonly sampleIntervalMs?: number
  /** Retry-After sent with a pressure 503, seconds. Default 5. */
  readonly retryAfterSeconds?: number
}

type PressureHandler = NonNullable<FastifyContextConfig['pressureHandler']>

/** The event-loop delay histogram's tick, ms (as @fastify/under-pressure's). */
const DELAY_RESOLUTION_MS = 10

/**
 * Over a limit, requests fail with TTS_ERR_UNDER_PRESSURE (503 + Retry-After through the error
 * handler). Routes opt out with `config: { pressureHandler: () => undefined }` (liveness, metrics).
 * Memory and utilisation are @fastify/under-pressure's checks. The event-loop delay check is
 * ours: under-pressure's took an interval with no sample for an infinite delay and shed every
 * request (see EventLoopDelaySampler).
 */
export function registerLoadShedding(app: FastifyInstance, options: PressureOptions = {}): () => boolean {
  const retryAfter = options.retryAfterSeconds ?? 5
  const sampleIntervalMs = Math.max(DELAY_RESOLUTION_MS, options.sampleIntervalMs || 1000)
  const shed: PressureHandler = (_request, _reply, type, value) =>
    Promise.reject(
      new TtsError('TTS_ERR_UNDER_PRESSURE', {
        args: [value === undefined ? type : `${type} ${Math.round(value * 100) / 100}`],
        retryAfterSeconds: retryAfter,
      }),
    )
  const maxEventLoopDelayMs = options.maxEventLoopDelayMs ?? 1000
  // Added before under-pressure's hook (a plugin, loaded later): the delay is checked first, as it was.
  const delayed = maxEventLoopDelayMs > 0 ? registerEventLoopDelayCheck(app, maxEventLoopDelayMs, sampleIntervalMs, shed) : () => false
  app.register(underPressure, {
    maxEventLoopDelay: 0,
    maxHeapUsedBytes: options.maxHeapUsedBytes ?? Math.floor(getHeapStatistics().heap_size_limit * 0.9),
    maxRssBytes: options.maxRssBytes ?? 0,
    maxEventLoopUtilization: options.maxEventLoopUtilization ?? 0,
    sampleInterval: sampleIntervalMs,
    retryAfter,
    pressureHandler: shed,
  })
  // Under pressure by any check (the hit fast path steps aside: Fastify's hooks then shed).
  return () => delayed() || app.isUnderPressure()
}

/** Samples the event-loop delay every interval from ready to close; sheds while its mean is over the limit. */
function registerEventLoopDelayCheck(app: FastifyInstance, maxDelayMs: number, sampleIntervalMs: number, shed: PressureHandler): () => boolean {
  const histogram = monitorEventLoopDelay({ resolution: DELAY_RESOLUTION_MS })
  const sampler = new EventLoopDelaySampler(histogram, DELAY_RESOLUTION_MS)
  let timer: NodeJS.Timeout | undefined
  app.addHook('onReady', async () => {
    histogram.enable()
    timer = setInterval(() => sampler.sample(), sampleIntervalMs).unref()
  })
  app.addHook('onClose', async () => {
    clearInterval(timer)
    histogram.disable()
  })
  app.addHook('onRequest', (request, reply, done) => {
    const delayMs = sampler.delayMs
    if (delayMs <= maxDelayMs) {
      done()
      return
    }
    const handler = request.routeOptions.config.pressureHandler ?? shed
    Promise.resolve(handler(request, reply, 'eventLoopDelay', delayMs)).then(() => done(), done)
  })
  return () => sampler.delayMs > maxDelayMs
}
