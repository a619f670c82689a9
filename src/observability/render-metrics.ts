import { Counter, Histogram, type Registry } from 'prom-client'
import type { RenderPoolObserver } from '../core/ports/index.js'

const RENDER_SECONDS_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60]
const QUEUE_WAIT_SECONDS_BUCKETS = [0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30]

/** The `tts_render*` and `tts_queue_wait_seconds` metrics, behind the render pool's observer port. */
export function createRenderPoolMetrics(registers: Registry[]): Required<RenderPoolObserver> {
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
  return {
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
}
