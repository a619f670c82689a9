import type { FastifyInstance } from 'fastify'
import type { ReadinessCheck, ReadinessReport } from '../../core/ports/index.js'
import type { ErrorCode } from '../../core/errors.js'
import { httpError } from '../http-errors.js'
import { notReadySchema, readySchema } from '../schemas/ops.js'

/** Lets a request through whatever the pressure: probes and scrapes must answer under load. */
const ignorePressure = (): void => undefined

interface CheckView {
  ok: boolean
  state: 'ok' | 'degraded' | 'failed'
  detail?: string
}

function viewOf(check: ReadinessCheck): CheckView {
  const state = check.state ?? (check.ok ? 'ok' : 'failed')
  return check.detail === undefined ? { ok: check.ok, state } : { ok: check.ok, state, detail: check.detail }
}

/** The registry code that best names a failing check (the status stays 503: "not ready"). */
function codeForCheck(name: string): ErrorCode {
  const n = name.toLowerCase()
  if (n.includes('cache') || n.includes('store') || n.includes('dir')) return 'TTS_ERR_STORE_IO'
  if (n.includes('engine')) return 'TTS_ERR_ENGINE_UNAVAILABLE'
  if (n.includes('redis') || n.includes('queue')) return 'TTS_ERR_QUEUE_UNAVAILABLE'
  if (n.includes('esl') || n.includes('freeswitch')) return 'TTS_ERR_ESL_CLOSED'
  return 'TTS_ERR_INTERNAL'
}

/** GET /healthz, GET /readyz and GET /metrics. */
export async function opsRoutes(app: FastifyInstance, options: { isClosing: () => boolean }): Promise<void> {
  healthzRoute(app)
  readyzRoute(app, options.isClosing)
  metricsRoute(app)
}

/** GET /healthz: liveness. */
function healthzRoute(app: FastifyInstance): void {
  app.get(
    '/healthz',
    {
      config: { auth: 'public', pressureHandler: ignorePressure },
      schema: {
        summary: 'Liveness',
        description: '200 while the process serves HTTP at all. Never needs a token; never shed under pressure.',
        tags: ['ops'],
        response: { 200: { type: 'object', properties: { status: { type: 'string', enum: ['ok'] } }, required: ['status'] } },
      },
    },
    async () => ({ status: 'ok' as const }),
  )
}

/** GET /readyz: the readiness checks; 503 naming the failing ones, or while closing. */
function readyzRoute(app: FastifyInstance, isClosing: () => boolean): void {
  app.get(
    '/readyz',
    {
      schema: {
        summary: 'Readiness',
        description:
          'Runs the readiness checks: cache directory writable, default engine runnable, Redis and FreeSWITCH ESL when configured. ' +
          '200 when ready (status "degraded" when a check is impaired but the service works, e.g. Redis down with the local fallback); ' +
          '503 with the failing checks otherwise, and while shutting down or under pressure.',
        tags: ['ops'],
        response: { 200: readySchema, 503: notReadySchema },
      },
    },
    async (request, reply) => {
      if (isClosing()) throw httpError('TTS_ERR_SHUTTING_DOWN', 'the service is shutting down')
      let report: ReadinessReport
      try {
        report = await app.tts.readiness()
      } catch (err) {
        request.log.error({ err }, 'readiness checks threw')
        reply.header('retry-after', '5').header('cache-control', 'no-store')
        return reply.code(503).send({
          code: 'TTS_ERR_INTERNAL',
          message: `not ready: the readiness checks failed to run (request ${request.id}; details in the server log)`,
          status: 'failed',
          checks: {},
        })
      }
      const checks: Record<string, CheckView> = {}
      for (const [name, check] of Object.entries(report.checks)) checks[name] = viewOf(check)
      const failing = Object.entries(checks).filter(([, c]) => !c.ok)
      if (report.ok && failing.length === 0) {
        const degraded = Object.values(checks).some((c) => c.state === 'degraded')
        return { status: degraded ? 'degraded' : 'ok', checks }
      }
      const first = failing[0]?.[0] ?? 'readiness'
      const message = `not ready: ${failing.map(([name, c]) => (c.detail === undefined ? name : `${name} (${c.detail})`)).join('; ') || 'a check failed'}`
      reply.header('retry-after', '5').header('cache-control', 'no-store')
      return reply.code(503).send({ code: codeForCheck(first), message, status: 'failed', checks })
    },
  )
}

/** GET /metrics: the Prometheus exposition. */
function metricsRoute(app: FastifyInstance): void {
  const { metrics } = app.tts
  app.get(
    '/metrics',
    {
      config: { pressureHandler: ignorePressure },
      schema: {
        summary: 'Prometheus metrics',
        description: 'Prometheus text exposition format (see docs/http.md for every metric).',
        tags: ['ops'],
        response: { 200: { description: 'Prometheus text format', content: { 'text/plain': { schema: { type: 'string' } } } } },
      },
    },
    async (_request, reply) => {
      const text = await metrics.text()
      return reply.header('cache-control', 'no-store').type(metrics.contentType).send(text)
    },
  )
}
