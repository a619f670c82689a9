import { setImmediate as nextTurn } from 'node:timers/promises'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { toTtsError, type TtsError } from '../core/errors.js'
import type { CacheEntry, HttpObserver } from '../core/ports/index.js'
import type { RenderSeat, TtsResult } from '../core/tts-service.js'
import { hotSource } from './audio-response.js'
import { markCountedByService } from './http-errors.js'
import { writeWholeHotFile, type HotAudio, type HotFile } from './hot-audio.js'
import { boundRequestWait } from './request-signal.js'

/** A node:http request listener: Fastify's, for a waiter the hit listener cannot answer itself. */
export type Listener = (request: IncomingMessage, response: ServerResponse) => void

export interface RenderWaitersDeps {
  readonly store: { peek(key: string): CacheEntry | undefined }
  readonly hot: HotAudio
  readonly requestId: (request: IncomingMessage) => string
  readonly metrics: Pick<Required<HttpObserver>, 'requestFinished'>
  /** The whole wait of a request on a render (TTS_HTTP_DEADLINE_MS), as the route's. */
  readonly deadlineMs: number
  /** True once the server is closing: a waiter answered then is Fastify's (it ends the connection). */
  readonly closing: () => boolean
}

/** Holds `request` on the render `seat` is in until it can be answered (see renderWaiters). */
export type HoldOnRender = (seat: RenderSeat, request: IncomingMessage, response: ServerResponse, general: Listener, started: number) => void

/** A request held on a render in flight. */
interface Waiter {
  readonly seat: RenderSeat
  readonly request: IncomingMessage
  readonly response: ServerResponse
  readonly general: Listener
  /** performance.now() at arrival, for the request-duration metric. */
  readonly started: number
  timer: NodeJS.Timeout | undefined
  /** Answered, or handed to Fastify: its seat has ended. */
  done: boolean
}

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

/**
 * The hit listener's waiters of renders in flight (issue 19, goal 3). Each waiter is a seat in
 * the render (TtsService.seat: no promise, signal or timer of its own from the service), its own
 * deadline timer and its response's 'close'; nothing else is kept per waiter while the render
 * runs. The waiters of one render are answered together once it settles: one read of the bytes,
 * then a turn (the request that rendered answers first, through Fastify), then one loop of
 * writes. A waiter whose deadline passes (TTS_HTTP_DEADLINE_MS) or whose client leaves gives its
 * seat up and goes to Fastify with that error (504 / nobody to tell), as the route's own waiters
 * do; so does every waiter of a failed render, and one that cannot be answered from memory (the
 * bytes too big to hold or changed, the server closing).
 */
export function renderWaiters(deps: RenderWaitersDeps): HoldOnRender {
  const { store, hot, requestId, metrics, deadlineMs, closing } = deps
  /** The waiters of each render in flight, by its seats' shared promise. */
  const batches = new Map<Promise<TtsResult>, Waiter[]>()
  /** Hands a waiter to Fastify with what its wait came to (see `takeWaited`). */
  const handOver = (waiter: Waiter, outcome: TtsResult | TtsError): void => {
    waited.set(waiter.request, outcome)
    waiter.general(waiter.request, waiter.response)
  }
  /** Its deadline or its client gone, before the render settled: its seat is given up. */
  const giveUp = (waiter: Waiter, error: TtsError): void => {
    if (waiter.done || !waiter.seat.leave(error)) return
    waiter.done = true
    clearTimeout(waiter.timer)
    markCountedByService(error)
    handOver(waiter, error)
  }
  const answer = (waiter: Waiter, outcome: TtsResult | TtsError, file: HotFile | undefined): void => {
    waiter.done = true
    clearTimeout(waiter.timer)
    waiter.seat.end(outcome)
    const { request, response } = waiter
    // Pressure or a verbose log level since it arrived do not send it to Fastify: it has waited.
    if (outcome instanceof Error || file === undefined || response.destroyed || closing()) {
      if (outcome instanceof Error) markCountedByService(outcome)
      handOver(waiter, outcome)
      return
    }
    writeWholeHotFile(response, request.method, ['x-request-id', requestId(request)], file, 'coalesced')
    metrics.requestFinished(request.method ?? 'GET', '/v1/tts', 200, (performance.now() - waiter.started) / 1000)
  }
  const answerBatch = async (settled: Promise<TtsResult>, batch: Waiter[]): Promise<void> => {
    const outcome = await settled.catch(toTtsError)
    const read = outcome instanceof Error ? undefined : await inMemory(outcome, hot)
    // The request that rendered: its answer (Fastify's, a few promise steps behind on the same
    // read of the bytes) is written before its waiters' (issue 19: waiters must not delay it).
    if (read !== undefined) await nextTurn()
    batches.delete(settled)
    // The index may have moved on while the bytes were read (a purge, a refresh): Fastify looks again.
    const file = read !== undefined && store.peek(read.entry.key) === read.entry ? read : undefined
    for (const waiter of batch) if (!waiter.done) answer(waiter, outcome, file)
  }
  return (seat, request, response, general, started) => {
    const waiter: Waiter = { seat, request, response, general, started, timer: undefined, done: false }
    waiter.timer = boundRequestWait(response, deadlineMs, (error) => giveUp(waiter, error))
    let batch = batches.get(seat.result)
    if (batch === undefined) {
      batch = []
      batches.set(seat.result, batch)
      void answerBatch(seat.result, batch)
    }
    batch.push(waiter)
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
