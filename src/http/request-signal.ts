import type { ServerResponse } from 'node:http'
import { TtsError } from '../core/errors.js'

/**
 * An AbortSignal for a request's wait on a render (the route's waiters), aborted as
 * `boundRequestWait` says: a waiter that reaches its deadline detaches and the render goes on
 * (SingleFlight keeps it for the retry); a client that went away detaches and cancels a render
 * nobody else waits for. `res` is the node:http response: Fastify's `reply.raw`.
 */
export function requestWaitSignal(res: ServerResponse, deadlineMs: number): AbortSignal {
  const controller = new AbortController()
  boundRequestWait(res, deadlineMs, (error) => controller.abort(error))
  return controller.signal
}

/**
 * The bounds of a request's wait on a render, both HTTP paths' (the route's signal above, the
 * hit listener's seats: render-waiters.ts): `end` is called with TTS_ERR_DEADLINE_EXCEEDED (504,
 * Retry-After) after `deadlineMs` (TTS_HTTP_DEADLINE_MS), and with TTS_ERR_ABORTED when the
 * client goes away before the response is complete; the first is what counts (the caller
 * ignores a second). `close` on the response fires on a finished response too
 * (`writableFinished` tells them apart); the timer is cleared then. Returns the timer, for a
 * caller that answers before either to clear.
 */
export function boundRequestWait(res: ServerResponse, deadlineMs: number, end: (error: TtsError) => void): NodeJS.Timeout {
  const timer = setTimeout(() => end(new TtsError('TTS_ERR_DEADLINE_EXCEEDED', { args: [deadlineMs] })), deadlineMs)
  timer.unref()
  res.once('close', () => {
    clearTimeout(timer)
    if (!res.writableFinished) end(new TtsError('TTS_ERR_ABORTED'))
  })
  return timer
}
