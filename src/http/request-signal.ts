import type { ServerResponse } from 'node:http'
import { TtsError } from '../core/errors.js'

/**
 * An AbortSignal for a request's wait on a render: after `deadlineMs` (TTS_HTTP_DEADLINE_MS) it
 * aborts with TTS_ERR_DEADLINE_EXCEEDED (504, Retry-After), and when the client goes away before
 * the response is complete, with TTS_ERR_ABORTED. A waiter that reaches its deadline detaches
 * and the render goes on (SingleFlight keeps it for the retry); a client that went away detaches
 * and cancels a render nobody else waits for. `close` on the response fires on a finished
 * response too (`writableFinished` tells them apart); the timer is cleared then.
 * `res` is the node:http response: Fastify's `reply.raw`, or the hit listener's own.
 */
export function requestWaitSignal(res: ServerResponse, deadlineMs: number): AbortSignal {
  const controller = new AbortController()
  const timer = setTimeout(() => controller.abort(new TtsError('TTS_ERR_DEADLINE_EXCEEDED', { args: [deadlineMs] })), deadlineMs)
  timer.unref()
  res.once('close', () => {
    clearTimeout(timer)
    if (!res.writableFinished) controller.abort(new TtsError('TTS_ERR_ABORTED'))
  })
  return controller.signal
}
