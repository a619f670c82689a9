import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify'
import type { PrewarmBatches } from '../core/prewarm-batches.js'
import { DEFAULTS } from '../core/defaults.js'
import { REDACT_PATHS } from '../logger.js'
import { hitListener, serverWithFastPath, type FastPath } from './hit-listener.js'
import { HotAudio } from './hot-audio.js'
import { LazySchemaCompilers, loadPrecompiledValidators, VALIDATION_OPTIONS } from './lazy-schema-compilers.js'
import type { recordingValidatorBuilder } from './precompile-validators.js'
import { BearerAuth } from './bearer-auth.js'
import type { HttpAppContext } from './context.js'
import { clientErrorHandler, httpError, isCountedByService, retryAfterSeconds, sendError, toHttpError } from './http-errors.js'
import { lazyChildLoggerFactory } from './lazy-request-logger.js'
import { registerLoadShedding, type PressureOptions } from './load-shedding.js'
import { registerOpenApi } from './openapi.js'
import { registerStrictBodyParsers } from './body-parsers.js'
import { publicBaseUrl } from './public-url.js'
import { parseQueryString } from './query-string.js'
import { requestGuard } from './request-guards.js'
import { requestIdGenerator } from './request-id.js'
import { ResolvedPhrases } from './resolved-phrases.js'
import type { RouteDeps } from './route-deps.js'
import { audioRoutes } from './routes/audio-routes.js'
import { cacheRoutes } from './routes/cache-routes.js'
import { opsRoutes } from './routes/ops-routes.js'
import { prewarmRoutes } from './routes/prewarm-routes.js'
import { ttsRoutes } from './routes/tts-routes.js'

export interface HttpServerOptions {
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
  /**
   * Build tooling only (scripts/precompile-validators.js): compile the route validators with
   * this builder, eagerly, instead of the lazy ones.
   */
  readonly buildValidator?: ReturnType<typeof recordingValidatorBuilder>['buildValidator']
  /** Answer in-memory hits before Fastify routes them (hit-listener.ts). Default true. */
  readonly fastPath?: boolean
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

/** Levels at which every request gets its own log line (skipped early: the hit path stays lean). */
const VERBOSE_LEVELS = new Set(['debug', 'trace'])

/** Errors that say "come back later" (logged at warn, not error). */
const TRANSIENT_CODES = new Set(['TTS_ERR_OVERLOADED', 'TTS_ERR_SHUTTING_DOWN', 'TTS_ERR_UNDER_PRESSURE', 'TTS_ERR_ABORTED', 'TTS_ERR_DEADLINE_EXCEEDED'])

/**
 * Builds the HTTP API on an application context: routes, schemas, auth, error mapping,
 * load shedding, metrics and OpenAPI docs. It does not listen (the CLI does:
 * `await app.listen({ host: config.httpHost, port: config.httpPort })`); tests use `inject`.
 *
 * `app.close()` stops accepting, answers new requests on open connections with 503
 * TTS_ERR_SHUTTING_DOWN, waits for in-flight requests (and so for the renders they wait on)
 * at most `closeGraceMs`, and stops the app's pre-warm tracker handing items over (its
 * batches are cancelled: the app is shutting down). It does not close the context's service,
 * queue or store: the composition root does, after this.
 */
export function buildHttpServer(ctx: HttpAppContext, options: HttpServerOptions = {}): FastifyInstance {
  const logger: FastifyBaseLogger = ctx.logger.child(
    { component: 'http' },
    { redact: { paths: [...REDACTED_LOG_PATHS], censor: '[redacted]' } },
  )
  const schemaCompilers = new LazySchemaCompilers(loadPrecompiledValidators())
  const requestId = requestIdGenerator()
  const fast: { path?: FastPath } = {}
  const app = createFastify(ctx, options, logger, schemaCompilers, requestId, fast)
  const auth = new BearerAuth(ctx.config.apiToken)
  const prewarm = ctx.prewarm
  compileSchemasOnceListening(app, schemaCompilers, logger)
  registerStrictBodyParsers(app)
  const hotAudio = new HotAudio({ maxBytes: ctx.config.httpHotBytes, maxFileBytes: DEFAULTS.httpHotFileMaxBytes })
  app.decorate('tts', ctx)
  app.decorate('prewarm', prewarm)
  app.decorate('hotAudio', hotAudio)
  const isClosing = registerShutdown(app, prewarm, options.closeGraceMs ?? ctx.config.shutdownGraceMs, logger)
  app.addHook('onRequest', requestGuard({ auth, authAllRoutes: ctx.config.authAllRoutes, isClosing }))
  registerRequestMetrics(app, ctx)
  registerErrorHandlers(app, ctx)
  const underPressure = options.pressure === false ? () => false : registerLoadShedding(app, options.pressure)
  if (options.docs !== false) registerOpenApi(app, { authAllRoutes: ctx.config.authAllRoutes })
  const phrases = new ResolvedPhrases(ctx.service)
  registerRoutes(app, ctx, auth, isClosing, phrases)
  if (options.fastPath !== false) {
    // Whatever Fastify's path would do differently for an in-memory hit (hit-listener.ts).
    const everyRoute = ctx.config.authAllRoutes || (options.trustProxy ?? false) !== false
    const stepAside = (): boolean => everyRoute || isClosing() || underPressure() || VERBOSE_LEVELS.has(logger.level)
    fast.path = hitListener({ store: ctx.store, service: ctx.service, phrases, hot: hotAudio, requestId, metrics: ctx.metrics.http, deadlineMs: ctx.config.httpDeadlineMs, stepAside, closing: isClosing })
  }
  return app
}

type RequestIds = ReturnType<typeof requestIdGenerator>

function createFastify(ctx: HttpAppContext, options: HttpServerOptions, logger: FastifyBaseLogger, compilers: LazySchemaCompilers, requestId: RequestIds, fast: { readonly path?: FastPath }): FastifyInstance {
  const { config, metrics } = ctx
  return Fastify({
    // Fastify's own server, with the hit fast path in front of it (hit-listener.ts).
    serverFactory: serverWithFastPath(fast),
    loggerInstance: logger,
    // Each route's schemas compile on first use (or come generated by the build), the rest once
    // listening (see LazySchemaCompilers).
    schemaController: {
      compilersFactory: { buildValidator: options.buildValidator ?? compilers.buildValidator, buildSerializer: compilers.buildSerializer },
    },
    // No type coercion, no silently dropped properties: the same for generated validators.
    ajv: { customOptions: { ...VALIDATION_OPTIONS } },
    // Fastify's own two lines per request are at info: on the hit path that is most of the
    // work. Every request is counted in the metrics; one line per request only at debug (onResponse).
    // (LogController: the top-level disableRequestLogging is deprecated, FSTDEP023.)
    logController: new LogController({ disableRequestLogging: true }),
    // Each request's child logger is made on its first line only (most hits write none).
    childLoggerFactory: lazyChildLoggerFactory,
    bodyLimit: config.bodyLimitBytes,
    // Long GET texts travel in the URL: allow the longest valid one (4 UTF-8 bytes a code
    // point, 3 characters a percent-encoded byte), never less than Node's default.
    http: { maxHeaderSize: Math.max(16 * 1024, config.maxTextChars * 12 + 4096) },
    routerOptions: { maxParamLength: 200, querystringParser: parseQueryString },
    exposeHeadRoutes: false,
    return503OnClosing: false,
    forceCloseConnections: 'idle',
    // X-Request-Id is taken only when well-formed (request-id.ts), never echoed unchecked.
    requestIdHeader: false,
    genReqId: requestId,
    trustProxy: options.trustProxy ?? false,
    clientErrorHandler,
    frameworkErrors: (error, request, reply) => {
      const mapped = toHttpError(error, request)
      metrics.http.errorResponse(mapped.code)
      void sendError(reply, mapped, undefined)
    },
  })
}

function compileSchemasOnceListening(app: FastifyInstance, schemaCompilers: LazySchemaCompilers, logger: FastifyBaseLogger): void {
  app.addHook('onListen', function compileSchemasOnceListening(done) {
    // A second later, not at once: right after a (re)start the first calls and requests come in
    // (FreeSWITCH retries), and each compile holds the event loop for tens of milliseconds.
    // Until then a route compiles its own schemas on its first request.
    const timer = setTimeout(() => {
      void schemaCompilers.compileAll().then((failures) => {
        for (const err of failures) logger.error({ err }, 'a route schema does not compile: its requests answer 500')
      })
    }, DEFAULTS.httpSchemaCompileDelayMs)
    timer.unref()
    done()
  })
}

/** The close sequence (see buildHttpServer); returns whether closing has begun. */
function registerShutdown(app: FastifyInstance, prewarm: PrewarmBatches, closeGraceMs: number, logger: FastifyBaseLogger): () => boolean {
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
  // While closing, every response (including those of requests already in flight) ends its
  // connection, so keep-alive clients cannot hold the server open after their last answer.
  // Callback style (every response passes): no promise per response.
  app.addHook('onSend', (_request, reply, payload, done) => {
    if (closing) reply.header('connection', 'close')
    done(null, payload)
  })
  return () => closing
}

function registerRequestMetrics(app: FastifyInstance, ctx: HttpAppContext): void {
  // Callback style (every response passes): no promise per response.
  app.addHook('onResponse', (request, reply, done) => {
    ctx.metrics.http.requestFinished(request.method, request.routeOptions.url ?? 'unmatched', reply.statusCode, reply.elapsedTime / 1000)
    if (VERBOSE_LEVELS.has(request.log.level)) {
      request.log.debug({ method: request.method, route: request.routeOptions.url, status: reply.statusCode, ms: reply.elapsedTime }, 'request completed')
    }
    done()
  })
}

function registerErrorHandlers(app: FastifyInstance, ctx: HttpAppContext): void {
  app.setErrorHandler((err, request, reply) => {
    const error = toHttpError(err, request)
    if (!isCountedByService(err)) ctx.metrics.http.errorResponse(error.code)
    const transient = TRANSIENT_CODES.has(error.code)
    if (error.status >= 500 && !transient) request.log.error({ err }, 'request failed')
    else if (error.status >= 500) request.log.warn({ code: error.code }, error.message)
    else request.log.info({ code: error.code }, error.message)
    // 503s, and the 504 of a request's own deadline (its render goes on: come back for it).
    const comeBack = error.status === 503 || error.code === 'TTS_ERR_DEADLINE_EXCEEDED'
    const retryAfter = comeBack ? retryAfterSeconds(error, () => ctx.queue.stats()) : undefined
    return sendError(reply, error, retryAfter)
  })
  app.setNotFoundHandler((request) => {
    throw httpError('TTS_ERR_NOT_FOUND', `route ${request.method} ${request.url.split('?', 1)[0]?.slice(0, 200) ?? ''} not found`)
  })
}

function registerRoutes(app: FastifyInstance, ctx: HttpAppContext, auth: BearerAuth, isClosing: () => boolean, phrases: ResolvedPhrases): void {
  const deps: RouteDeps = {
    auth,
    baseUrl: (request) => publicBaseUrl(ctx.config.publicUrl, request),
    isClosing,
  }
  app.register(ttsRoutes, { ...deps, phrases })
  app.register(audioRoutes, deps)
  app.register(prewarmRoutes)
  app.register(cacheRoutes, deps)
  app.register(opsRoutes, deps)
}
