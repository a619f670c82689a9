import { setImmediate as nextTurn } from 'node:timers/promises'
import { createServer, type IncomingMessage, type Server, type ServerOptions, type ServerResponse } from 'node:http'
import type { CacheEntry, HttpObserver } from '../core/ports/index.js'
import type { ResolvedPhrase, TtsResult, TtsService } from '../core/tts-service.js'
import { hotSource } from './audio-response.js'
import { markCountedByService } from './http-errors.js'
import { writeWholeHotFile, type HotAudio, type HotFile } from './hot-audio.js'
import { isValidHost } from './public-url.js'
import { requestWaitSignal } from './request-signal.js'
import { rawQueryOf, type ResolvedPhrases } from './resolved-phrases.js'

export interface HitListenerDeps {
  /** peek: the index alone; lookup: the index and the file's stat (a hit is a file that exists now). */
  readonly store: { peek(key: string): CacheEntry | undefined; lookup(key: string): CacheEntry | undefined }
  /**
   * `hit` looks the key up (the file's stat) and counts the hit as the /v1/tts route does;
   * `getFor` on a key `isRendering` joins that render, counted as the route counts a coalesced wait.
   */
  readonly service: Pick<TtsService, 'hit' | 'isRendering' | 'getFor'>
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

type Listener = (request: IncomingMessage, response: ServerResponse) => void

/** A request the hit listener holds while the render it joined is in flight. */
interface Waiter {
  readonly request: IncomingMessage
  readonly response: ServerResponse
  /** Fastify's listener, for a waiter it cannot answer itself. */
  readonly general: Listener
  /** performance.now() at arrival, for the request-duration metric. */
  readonly started: number
}

/**
 * A node:http request listener that answers a request itself (true), or leaves it alone (false,
 * having sent nothing: `general`, Fastify, answers it). Having returned true it may still hand the
 * request to `general` later, once and having sent nothing (see `takeWaited`).
 */
export type FastPath = (request: IncomingMessage, response: ServerResponse, general: Listener) => boolean

/** What a wait the hit listener began came to, for the request it then handed to Fastify. */
const waited = new WeakMap<IncomingMessage, TtsResult | Error>()

/**
 * The outcome of the wait on a render the hit listener began for this request before handing it
 * to Fastify (it waited, then could not answer itself): the result to send (X-TTS-Cache:
 * coalesced), or the error to answer with (already counted by the service). Taken once.
 */
export function takeWaited(request: IncomingMessage): TtsResult | Error | undefined {
  const outcome = waited.get(request)
  if (outcome !== undefined) waited.delete(request)
  return outcome
}

/**
 * True for a request the hit listener accepted and waited for before handing it to Fastify: it
 * is in flight, not new, so a server that began closing meanwhile still answers it (not 503).
 */
export function waitedBefore(request: IncomingMessage): boolean {
  return waited.has(request)
}

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
 * issue 19, goal 3) is joined here, under the route's deadline and client-gone signal, and
 * answered from memory once rendered (X-TTS-Cache: coalesced), so a thousand waiters cost a
 * thousand hits, not a thousand trips through Fastify on the way in and out. What it cannot
 * answer itself once the render settles (a failure, its deadline, a client gone, a closing
 * server, a file too big to hold or gone already) it hands to Fastify with the outcome
 * (`takeWaited`), which answers as for its own waiters: the same error body, or the file.
 */
export function hitListener(deps: HitListenerDeps): FastPath {
  const { store, service, phrases, hot, requestId, metrics, stepAside, deadlineMs } = deps
  const answerWhenRendered = renderWaiters(deps)
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
      if (resolved === undefined || !service.isRendering(key)) return false
      // getFor reaches the single flight before its first await: it joins the render just seen.
      const waiting = service.getFor(resolved, { source: 'http', signal: requestWaitSignal(response, deadlineMs) })
      void answerWhenRendered({ request, response, general, started }, waiting)
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
 * The hit listener's waiters of renders in flight: `answerWhenRendered(waiter, waiting)` waits
 * (bounded: the waiter's signal) on the render it joined, then answers it from memory with the
 * others of its batch, or hands it to Fastify with what the wait came to.
 */
function renderWaiters(deps: Pick<HitListenerDeps, 'store' | 'hot' | 'requestId' | 'metrics' | 'closing'>): (waiter: Waiter, waiting: Promise<TtsResult>) => Promise<void> {
  const { store, hot, requestId, metrics, closing } = deps
  /**
   * Waiters whose render gave this entry, gathered while its bytes are read: one read, one turn
   * and one loop of writes for all of them (issue 19, goal 3), not a read, a turn and a promise
   * chain each. A waiter whose wait settles after its batch was answered starts another.
   */
  const batches = new Map<CacheEntry, Array<[Waiter, TtsResult]>>()
  /** Hands a waiter to Fastify with what its wait came to (see `takeWaited`). */
  const handOver = (waiter: Waiter, outcome: TtsResult | Error): void => {
    waited.set(waiter.request, outcome)
    waiter.general(waiter.request, waiter.response)
  }
  const answerBatch = async (result: TtsResult, batch: Array<[Waiter, TtsResult]>): Promise<void> => {
    const file = await inMemory(result, hot)
    // The request that rendered first: its answer (Fastify's, a few promise steps behind on the
    // same read of the bytes) is written before its waiters' (issue 19: waiters must not delay it).
    if (file !== undefined) await nextTurn()
    batches.delete(result.entry)
    // The index may have moved on while the bytes were read (a purge, a refresh): Fastify looks again.
    const current = file !== undefined && store.peek(file.entry.key) === file.entry ? file : undefined
    for (const [waiter, own] of batch) {
      const { request, response } = waiter
      if (current === undefined || response.destroyed || closing()) {
        handOver(waiter, own)
        continue
      }
      writeWholeHotFile(response, request.method, ['x-request-id', requestId(request)], current, 'coalesced')
      metrics.requestFinished(request.method ?? 'GET', TTS_ROUTE, 200, (performance.now() - waiter.started) / 1000)
    }
  }
  /** Waits (bounded) on the render in flight, then joins its entry's batch or hands the request to `general`. */
  const answerWhenRendered = async (waiter: Waiter, waiting: Promise<TtsResult>): Promise<void> => {
    let outcome: TtsResult | Error
    try {
      outcome = await waiting
    } catch (err) {
      markCountedByService(err)
      outcome = err instanceof Error ? err : new Error(String(err))
    }
    // Pressure or a verbose log level since it arrived do not send it to Fastify: it has waited,
    // and its bytes are in memory (shedding it now would waste the wait).
    if (outcome instanceof Error || waiter.response.destroyed || closing()) {
      handOver(waiter, outcome)
      return
    }
    let batch = batches.get(outcome.entry)
    if (batch === undefined) {
      batch = []
      batches.set(outcome.entry, batch)
      void answerBatch(outcome, batch)
    }
    batch.push([waiter, outcome])
  }
  return answerWhenRendered
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

/**
 * A just-rendered file's bytes from memory (one read shared by all its waiters; the route reads
 * them the same way: hotSource); undefined when they cannot be served from memory — too big, gone
 * or changed already, unreadable — and Fastify's path finds out and says so (or renders again).
 */
async function inMemory(result: TtsResult, hot: HotAudio): Promise<HotFile | undefined> {
  const file = await hotSource(result, hot).catch(() => undefined)
  return file === 'changed' ? undefined : file
}
