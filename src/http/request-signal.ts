import type { FastifyReply } from 'fastify'
import { TtsError } from '../core/errors.js'

/**
 * An AbortSignal that fires when the client goes away before the response is complete, so a
 * waiter detaches from a render (the render goes on for other waiters; see SingleFlight).
 * `close` on the response fires on a finished response too; `writableFinished` tells them apart.
 */
export function clientGoneSignal(reply: FastifyReply): AbortSignal {
  const controller = new AbortController()
  const res = reply.raw
  res.once('close', () => {
    if (!res.writableFinished) controller.abort(new TtsError('TTS_ERR_ABORTED'))
  })
  return controller.signal
}

/**
 * `clientGoneSignal` plus the request's deadline (TTS_HTTP_DEADLINE_MS): after `deadlineMs` the
 * signal aborts with TTS_ERR_DEADLINE_EXCEEDED (504, Retry-After). A waiter that reaches its
 * deadline detaches and the render goes on (SingleFlight keeps it for the retry); a client that
 * went away detaches with TTS_ERR_ABORTED and cancels a render nobody else waits for. The timer
 * is cleared when the response ends.
 */
export function requestWaitSignal(reply: FastifyReply, deadlineMs: number): AbortSignal {
  const controller = new AbortController()
  const res = reply.raw
  const timer = setTimeout(() => controller.abort(new TtsError('TTS_ERR_DEADLINE_EXCEEDED', { args: [deadlineMs] })), deadlineMs)
  timer.unref()
  res.once('close', () => {
    clearTimeout(timer)
    if (!res.writableFinished) controller.abort(new TtsError('TTS_ERR_ABORTED'))
  })
  return controller.signal
}
