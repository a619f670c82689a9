import { createServer, type IncomingMessage, type Server, type ServerOptions, type ServerResponse } from 'node:http'
import type { CacheEntry, HttpObserver } from '../core/ports/index.js'
import type { ResolvedPhrase, TtsService } from '../core/tts-service.js'
import { writeWholeHotFile, type HotAudio } from './hot-audio.js'
import { isValidHost } from './public-url.js'
import { renderWaiters, type Listener } from './render-waiters.js'
import { rawQueryOf, type ResolvedPhrases } from './resolved-phrases.js'

export interface HitListenerDeps {
  /** peek: the index alone; lookup: the index and the file's stat (a hit is a file that exists now). */
  readonly store: { peek(key: string): CacheEntry | undefined; lookup(key: string): CacheEntry | undefined }
  /**
   * `hit` looks the key up (the file's stat) and counts the hit as the /v1/tts route does;
   * `seat` joins the render of a miss in flight, counted as the route counts a coalesced wait.
   */
  readonly service: Pick<TtsService, 'hit' | 'seat'>
  readonly phrases: Pick<ResolvedPhrases, 'known'>
  readonly hot: HotAudio
  /** The generator Fastify uses too (request-id.ts): one sequence of ids for both paths. */
  readonly requestId: (request: IncomingMessage) => string
  readonly metrics: Pick<Required<HttpObserver>, 'requestFinished'>
  /** The whole wait of a request on a render (TTS_HTTP_DEADLINE_MS), as the route's. */
  readonly deadlineMs: number
  /**
   * True while every request must take Fastify's path: closing (it adds Connection: close),
   * under pressure (it sheds), a log level that writes a line per request, the token required on
   * every route, a trusted proxy's X-Forwarded-Host.
   */
  readonly stepAside: () => boolean
  /** True once the server is closing: a waiter answered then is Fastify's (it ends the connection). */
  readonly closing: () => boolean
}

/**
 * A node:http request listener that answers a request itself (true), or leaves it alone (false,
 * having sent nothing: `general`, Fastify, answers it). Having returned true it may still hand the
 * request to `general` later, once and having sent nothing (see `takeWaited`).
 */
export type FastPath = (request: IncomingMessage, response: ServerResponse, general: Listener) => boolean

const AUDIO_URL = /^\/v1\/audio\/([0-9a-f]{64})\.wav$/
const AUDIO_ROUTE = '/v1/audio/:file'
const TTS_ROUTE = '/v1/tts'

/**
 * The hit listener: a plain `GET|HEAD /v1/audio/<key>.wav`, or a `GET|HEAD /v1/tts?…` whose
 * exact query string resolved before (ResolvedPhrases), whose WAV is on disk as indexed (the
 * store's sync stat) and in memory (HotAudio), answered from the node:http request listener
 * before Fastify routes it: the same bytes and headers as Fastify's whole-file hit
 * (writeWholeHotFile: X-Request-Id, the file's precomputed headers, X-TTS-Cache: hit), counted in
 * the same metrics, without Fastify's request and reply objects, hooks and promise chain (issue
 * 19, goal 1: "nothing per request that a content-addressed, immutable file does not need").
 *
 * Every other request returns false having sent nothing, and Fastify answers it: a Range, an
 * If-None-Match, the nginx front's X-TTS-Accel, an invalid Host (its 400), a query never
 * resolved before (validation happens there, and only a valid query is remembered), a miss
 * nobody is rendering, a file not in memory, and everything while `stepAside()` says so.
 *
 * A `/v1/tts` miss whose render is already in flight (the waiters of a burst for one new phrase:
 * issue 19, goal 3) takes a seat in that render here (TtsService.seat), under the route's
 * deadline and with its client, and is answered from memory once rendered (X-TTS-Cache:
 * coalesced) with the render's other waiters (render-waiters.ts), so a thousand waiters cost
 * about a thousand hits, not a thousand trips through Fastify on the way in and out. What it
 * cannot answer itself (a failure, its deadline, a client gone, a closing server, a file too big
 * to hold or gone already) it hands to Fastify with the outcome (`takeWaited`), which answers as
 * for its own waiters: the same error body, or the file.
 */
export function hitListener(deps: HitListenerDeps): FastPath {
  const { store, service, phrases, hot, requestId, metrics, stepAside } = deps
  const holdOnRender = renderWaiters(deps)
  return (request, response, general) => {
    const method = request.method
    if (method !== 'GET' && method !== 'HEAD') return false
    const headers = request.headers
    if (headers.range !== undefined || headers['if-none-match'] !== undefined || headers['x-tts-accel'] !== undefined) return false
    const host = headers.host
    if (host !== undefined && host !== '' && !isValidHost(host)) return false
    const started = performance.now()
    const url = request.url ?? ''
    let resolved: ResolvedPhrase | undefined
    let key: string | undefined
    if (url.startsWith('/v1/tts?')) {
      resolved = phrases.known(rawQueryOf(url))
      key = resolved?.key
    } else {
      key = AUDIO_URL.exec(url)?.[1]
    }
    if (key === undefined || stepAside()) return false
    // In memory first (no stat for a file Fastify then streams), then on disk as indexed (a
    // stat), counted as a hit for /v1/tts as its route counts one (/v1/audio asks no service).
    const indexed = store.peek(key)
    if (indexed === undefined) {
      // A miss: the render's waiters wait here when it is in flight (the route starts one otherwise).
      const seat = resolved === undefined ? undefined : service.seat(resolved, 'http')
      if (seat === undefined) return false
      holdOnRender(seat, request, response, general, started)
      return true
    }
    const file = hot.get(indexed)
    if (file === undefined) return false
    const found = resolved === undefined ? store.lookup(key) : service.hit(resolved, 'http')?.entry
    if (found !== indexed) return false
    writeWholeHotFile(response, method, ['x-request-id', requestId(request)], file, 'hit')
    // The response is with the kernel (or Node's buffer) by now; Fastify counts at 'finish', a tick later.
    metrics.requestFinished(method, resolved === undefined ? AUDIO_ROUTE : TTS_ROUTE, 200, (performance.now() - started) / 1000)
    return true
  }
}

/**
 * Fastify's `serverFactory`: its node:http server as Fastify makes one (lib/server.js
 * getServerInstance: the `http` options and the three timeouts), with `fast.path` (set once the
 * routes exist) asked first for every request.
 */
export function serverWithFastPath(fast: { readonly path?: FastPath }): (handler: (request: IncomingMessage, response: ServerResponse) => void, fastifyOptions: unknown) => Server {
  return (handler, fastifyOptions) => {
    const given = fastifyOptions as { http?: ServerOptions; keepAliveTimeout?: number; requestTimeout?: number; connectionTimeout?: number }
    const server = createServer(given.http ?? {}, (request, response) => {
      if (fast.path?.(request, response, handler) !== true) handler(request, response)
    })
    server.keepAliveTimeout = given.keepAliveTimeout ?? 72_000
    server.requestTimeout = given.requestTimeout ?? 0
    server.setTimeout(given.connectionTimeout ?? 0)
    return server
  }
}
