import type { FastifyReply, FastifyRequest } from 'fastify'
import type { AppContext } from '../app/context.js'
import type { HotAudio } from './hot-audio.js'
import type { PrewarmBatches } from '../core/prewarm-batches.js'
import type { Metrics } from '../observability/metrics.js'

/**
 * What the HTTP server needs: the app context plus its metrics and its one pre-warm tracker
 * (buildApp's `app.prewarm`; the server never builds one of its own).
 */
export type HttpAppContext = AppContext & { readonly metrics: Metrics; readonly prewarm: PrewarmBatches }

/**
 * Per-route auth policy (route `config.auth`):
 * - `token`: always needs the bearer token (state-changing routes: pre-warm, purge);
 * - `public`: never needs it, even with authAllRoutes (liveness only);
 * - absent: needs it only when authAllRoutes is set.
 */
export type RouteAuth = 'token' | 'public'

declare module 'fastify' {
  interface FastifyInstance {
    /** The application context the routes use (decorated once by buildHttpServer). */
    readonly tts: HttpAppContext
    /** The app's pre-warm tracker (its hand-over stops when the server closes). */
    readonly prewarm: PrewarmBatches
    /** In-memory copies of the hottest WAVs (TTS_HTTP_HOT_BYTES). */
    readonly hotAudio: HotAudio
  }
  interface FastifyContextConfig {
    auth?: RouteAuth
    /** Media types the route accepts for a body (others: 415 TTS_ERR_UNSUPPORTED_MEDIA_TYPE). */
    accepts?: readonly string[]
    /** Load shedding's per-route override (load-shedding.ts); returning nothing lets the request through. */
    pressureHandler?: (request: FastifyRequest, reply: FastifyReply, type: string, value: number | undefined) => Promise<void> | void
  }
}
