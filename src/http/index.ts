/**
 * The HTTP adapter: `buildHttpServer(ctx, options)` returns a Fastify instance that is not
 * listening. See docs/http.md for the routes.
 */
import './context.js'

export { buildHttpServer, REDACTED_LOG_PATHS, type HttpServerOptions } from './http-server.js'
export type { PressureOptions } from './load-shedding.js'
export type { HttpAppContext, RouteAuth } from './context.js'
export type { ErrorBody } from './http-errors.js'
export { IMMUTABLE_CACHE_CONTROL, WAV_CONTENT_TYPE } from './audio-response.js'
