import type { TtsError } from '../../core/errors.js'
import type { Logger } from '../../core/ports/index.js'
import type { EslFrame } from '../codec/frame.js'

/** Callbacks for frames that are not replies. Called synchronously from the data handler. */
export interface EslConnectionHandlers {
  /** Every frame, replies included (heartbeat watchdogs). */
  frame?(frame: EslFrame): void
  /** Inbound banner `Content-Type: auth/request`. */
  authRequest?(): void
  /** `text/event-plain|json|xml`. */
  event?(frame: EslFrame): void
  /** `text/disconnect-notice` (the call hung up, or FreeSWITCH is closing after exit). */
  disconnectNotice?(frame: EslFrame): void
  /** Once, when the socket is gone; `reason` is undefined for an orderly close. */
  close?(reason: TtsError | undefined): void
}

/**
 * Hands one parsed frame to whoever it is for, by Content-Type: replies (command/reply,
 * api/response) to `onReply`, the rest to the connection's handlers. `handlers.frame` sees
 * every frame first (heartbeat watchdogs). Anything else (log/data, types FreeSWITCH may add)
 * is logged at debug and dropped.
 */
export function routeFrame(frame: EslFrame, handlers: EslConnectionHandlers | undefined, onReply: (frame: EslFrame) => void, logger: Logger): void {
  handlers?.frame?.(frame)
  const type = frame.contentType
  switch (type) {
    case 'command/reply':
    case 'api/response':
      onReply(frame)
      return
    case 'auth/request':
      handlers?.authRequest?.()
      return
    case 'text/disconnect-notice':
      handlers?.disconnectNotice?.(frame)
      return
    case 'text/event-plain':
    case 'text/event-json':
    case 'text/event-xml':
      handlers?.event?.(frame)
      return
    default:
      // log/data and anything new: not ours to act on.
      logger.debug({ contentType: type }, 'ignored event socket frame')
  }
}
