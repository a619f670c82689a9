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
