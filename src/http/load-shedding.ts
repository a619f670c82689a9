import { getHeapStatistics } from 'node:v8'
import underPressure from '@fastify/under-pressure'
import type { FastifyInstance } from 'fastify'
import { TtsError } from '../core/errors.js'

/** Event-loop and memory limits beyond which every request (but /healthz and /metrics) gets 503 + Retry-After. */
export interface PressureOptions {
  /** Mean event-loop delay over a sample interval, ms. Default 1000; 0 disables. */
  readonly maxEventLoopDelayMs?: number
  /** V8 heap in use, bytes. Default 90 % of the heap limit; 0 disables. */
  readonly maxHeapUsedBytes?: number
  /** Resident set size, bytes. Default 0 (disabled). */
  readonly maxRssBytes?: number
  /** Event-loop utilisation 0..1. Default 0 (disabled: a busy but healthy server is near 1). */
  readonly maxEventLoopUtilization?: number
  /** How often the figures are sampled, ms. Default 1000. */
  readonly sampleIntervalMs?: number
  /** Retry-After sent with a pressure 503, seconds. Default 5. */
  readonly retryAfterSeconds?: number
}

/**
 * Registers @fastify/under-pressure: over a limit, requests fail with TTS_ERR_UNDER_PRESSURE
 * (503 + Retry-After through the error handler). Routes opt out with
 * `config: { pressureHandler: () => undefined }` (liveness, metrics).
 */
export function registerLoadShedding(app: FastifyInstance, options: PressureOptions = {}): void {
  const retryAfter = options.retryAfterSeconds ?? 5
  app.register(underPressure, {
    maxEventLoopDelay: options.maxEventLoopDelayMs ?? 1000,
    maxHeapUsedBytes: options.maxHeapUsedBytes ?? Math.floor(getHeapStatistics().heap_size_limit * 0.9),
    maxRssBytes: options.maxRssBytes ?? 0,
    maxEventLoopUtilization: options.maxEventLoopUtilization ?? 0,
    sampleInterval: options.sampleIntervalMs ?? 1000,
    retryAfter,
    pressureHandler: (_request, _reply, type, value) =>
      Promise.reject(
        new TtsError('TTS_ERR_UNDER_PRESSURE', {
          args: [value === undefined ? type : `${type} ${Math.round(value * 100) / 100}`],
          retryAfterSeconds: retryAfter,
        }),
      ),
  })
}
