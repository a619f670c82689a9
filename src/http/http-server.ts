import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify'
import { PrewarmBatches, type PrewarmBatchesOptions } from '../core/prewarm-batches.js'
import { DEFAULTS } from '../core/defaults.js'
import { REDACT_PATHS } from '../logger.js'
import { HotAudio } from './hot-audio.js'
import { LazySchemaCompilers } from './lazy-schema-compilers.js'
import { BearerAuth } from './bearer-auth.js'
import type { HttpAppContext } from './context.js'
import { clientErrorHandler, httpError, isCountedByService, retryAfterSeconds, sendError, toHttpError } from './http-errors.js'
import { registerLoadShedding, type PressureOptions } from './load-shedding.js'
import { registerOpenApi } from './openapi.js'
import { parseQueryString } from './query-string.js'
import { requestGuard } from './request-guards.js'
import type { RouteDeps } from './route-deps.js'
import { audioRoutes } from './routes/audio-routes.js'
import { cacheRoutes } from './routes/cache-routes.js'
import { opsRoutes } from './routes/ops-routes.js'
import { prewarmRoutes } from './routes/prewarm-routes.js'
import { ttsRoutes } from './routes/tts-routes.js'

export interface HttpServerOptions {
  /** Use this tracker instead of building one (it is still closed with the server). */
  readonly prewarm?: PrewarmBatches
  /** Options for the tracker built when `prewarm` is not given. */
  readonly prewarmOptions?: PrewarmBatchesOptions
  /** `false` turns load shedding off. */
  readonly pressure?: PressureOptions | false
  /**
   * On close, requests still running after this long have their connections destroyed, so
   * `app.close()` is bounded. Default: config.shutdownGraceMs.
   */
  readonly closeGraceMs?: number
  /** Fastify's trustProxy (X-Forwarded-* from a reverse proxy). Default false. */
  readonly trustProxy?: boolean | string | string[]
  /** Serve the OpenAPI document (/docs/json) and the browsable page (/docs). Default true. */
  readonly docs?: boolean
}

/**
 * Paths pino censors in every HTTP log line: the root logger's secrets plus every place an
 * Authorization header could appear (a child's `redact` replaces its parent's, so both).
 */
export const REDACTED_LOG_PATHS = Object.freeze([
  ...new Set([
    ...REDACT_PATHS,
    'authorization',
    'headers.authorization',
    'req.headers.authorization',
    'request.headers.authorization',
    'res.headers.authorization',
    'apiToken',
    'config.apiToken',
  ]),
])

/**
 * Builds the HTTP API on an application context: routes, schemas, auth, error mapping,
 * load shedding, metrics and OpenAPI docs. It does not listen (the CLI does:
 * `await app.listen({ host: config.httpHost, port: config.httpPort })`); tests use `inject`.
 *
 * `app.close()` stops accepting, answers new requests on open connections with 503
 * TTS_ERR_SHUTTING_DOWN, waits for in-flight requests (and so for the renders they wait on)
 * at most `closeGraceMs`, and stops the pre-warm feeder. It does not close the context's
 * service, queue or store: the composition root does, after this.
 */
/** Levels at which every request gets its own log line (skipped early: the hit path stays lean). */
const VERBOSE_LEVELS = new Set(['debug', 'trace'])

export function buildHttpServer(ctx: HttpAppContext, options: HttpServerOptions = {}): FastifyInstance {
  const { config, metrics } = ctx
  const logger: FastifyBaseLogger = ctx.logger.child(
    { component: 'http' },
    { redact: { paths: [...REDACTED_LOG_PATHS], censor: '[redacted]' } },
  )
  // Long GET texts travel in the URL: allow the longest valid one (4 UTF-8 bytes a code
  // point, 3 characters a percent-encoded byte), never less than Node's default.
  const maxHeaderSize = Math.max(16 * 1024, config.maxTextChars * 12 + 4096)
  const closeGraceMs = options.closeGraceMs ?? config.shutdownGraceMs

  const schemaCompilers = new LazySchemaCompilers()
  const app = Fastify({
    loggerInstance: logger,
    // Each route's schemas compile on first use, the rest once listening (see LazySchemaCompilers).
    schemaController: { compilersFactory: { buildValidator: schemaCompilers.buildValidator, buildSerializer: schemaCompilers.buildSerializer } },
    // Fastify's own two lines per request are at info: on the hit path that is most of the
    // work. Every request is counted in the metrics; one line per request only at debug (onResponse).
    // (LogController: the top-level disableRequestLogging is deprecated, FSTDEP023.)
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: config.bodyLimitBytes,
    http: { maxHeaderSize },
    routerOptions: { maxParamLength: 200, querystringParser: parseQueryString },
    exposeHeadRoutes: false,
    return503OnClosing: false,
    forceCloseConnections: 'idle',
    requestIdHeader: 'x-request-id',
    trustProxy: options.trustProxy ?? false,
    clientErrorHandler,
    frameworkErrors: (error, request, reply) => {
      const mapped = toHttpError(error, request)
      metrics.http.errorResponse(mapped.code)
      void sendError(reply, mapped, undefined)
    },
  })

  const auth = new BearerAuth(config.apiToken)
  const prewarm =
    options.prewarm ??
    new PrewarmBatches(
      { service: ctx.service, queue: ctx.queue, logger: ctx.logger.child({ component: 'prewarm' }), observer: metrics.tts },
      options.prewarmOptions,
    )
  app.addHook('onListen', function compileSchemasOnceListening(done) {
    // Not awaited: the server is already answering; this fills in what the first requests did not.
    void schemaCompilers.compileAll().then((failures) => {
      for (const err of failures) logger.error({ err }, 'a route schema does not compile: its requests answer 500')
    })
    done()
  })
  app.decorate('tts', ctx)
  app.decorate('prewarm', prewarm)
  app.decorate('hotAudio', new HotAudio({ maxBytes: config.httpHotBytes, maxFileBytes: DEFAULTS.httpHotFileMaxBytes }))

  let closing = false
  let forceCloseTimer: NodeJS.Timeout | undefined
  app.addHook('preClose', async () => {
    closing = true
    // Stop handing pre-warm items over; renders already running finish in the service.
    await prewarm.close(0)
    if (closeGraceMs > 0) {
      forceCloseTimer = setTimeout(() => {
        logger.warn({ closeGraceMs }, 'requests still running after the shutdown grace: closing their connections')
        app.server.closeAllConnections()
      }, closeGraceMs)
      forceCloseTimer.unref()
    }
  })
  app.addHook('onClose', async () => {
    clearTimeout(forceCloseTimer)
    await prewarm.close(0)
  })

  app.addHook('onRequest', requestGuard({ auth, authAllRoutes: config.authAllRoutes, isClosing: () => closing }))

  // While closing, every response (including those of requests already in flight) ends its
  // connection, so keep-alive clients cannot hold the server open after their last answer.
  app.addHook('onSend', async (_request, reply) => {
    if (closing) reply.header('connection', 'close')
  })

  app.addHook('onResponse', async (request, reply) => {
    metrics.http.requestFinished(request.method, request.routeOptions.url ?? 'unmatched', reply.statusCode, reply.elapsedTime / 1000)
    if (VERBOSE_LEVELS.has(request.log.level)) {
      request.log.debug({ method: request.method, route: request.routeOptions.url, status: reply.statusCode, ms: reply.elapsedTime }, 'request completed')
    }
  })

  app.setErrorHandler((err, request, reply) => {
    const error = toHttpError(err, request)
    if (!isCountedByService(err)) metrics.http.errorResponse(error.code)
    const transient = ['TTS_ERR_OVERLOADED', 'TTS_ERR_SHUTTING_DOWN', 'TTS_ERR_UNDER_PRESSURE', 'TTS_ERR_ABORTED'].includes(error.code)
    if (error.status >= 500 && !transient) request.log.error({ err }, 'request failed')
    else if (error.status >= 500) request.log.warn({ code: error.code }, error.message)
    else request.log.info({ code: error.code }, error.message)
    const retryAfter = error.status === 503 ? retryAfterSeconds(error, () => ctx.queue.stats()) : undefined
    return sendError(reply, error, retryAfter)
  })

  app.setNotFoundHandler((request) => {
    throw httpError('TTS_ERR_NOT_FOUND', `route ${request.method} ${request.url.split('?', 1)[0]?.slice(0, 200) ?? ''} not found`)
  })

  if (options.pressure !== false) registerLoadShedding(app, options.pressure)
  if (options.docs !== false) registerOpenApi(app, { authAllRoutes: config.authAllRoutes })

  const deps: RouteDeps = {
    auth,
    baseUrl: (request) => config.publicUrl?.replace(/\/+$/, '') ?? `${request.protocol}://${request.host}`,
  }
  app.register(ttsRoutes, deps)
  app.register(audioRoutes)
  app.register(prewarmRoutes)
  app.register(cacheRoutes, deps)
  app.register(opsRoutes, { isClosing: () => closing })
  return app
}
