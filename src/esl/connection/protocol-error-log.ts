import type { TtsError } from '../../core/errors.js'
import type { Logger } from '../../core/ports/index.js'
import type { EslSide } from '../ports.js'
import type { Scheduler } from './scheduler.js'

/** How malformed ESL input is logged, each with its unit. */
export const PROTOCOL_ERROR_LOG_DEFAULTS = Object.freeze({
  /** Protocol errors logged one line each per window; the rest are summed up. */
  burst: 10,
  /** The window, in ms. */
  windowMs: 60_000,
})

export interface ProtocolErrorLogOptions {
  readonly burst?: number | undefined
  readonly windowMs?: number | undefined
}

/**
 * Logs malformed input from an ESL peer (a bad frame, an unusable CHANNEL_DATA) as one warn line
 * with the side, the peer address and the reason — the stack only at debug: it is always the
 * parser's, the same for every such line, and at 1.2 KB a line a fuzzer or a broken peer filled
 * the log with them (2,085 in one run). A burst is logged line by line up to `burst` per window;
 * the rest of the window is counted and logged as one summary line when the window ends (a timer
 * on the injected scheduler, unref'd). Every error is also counted in
 * `tts_esl_protocol_errors_total`, whatever is logged. One instance per listener, shared by its
 * connections.
 */
export class ProtocolErrorLog {
  readonly #logger: Logger
  readonly #scheduler: Scheduler
  readonly #burst: number
  readonly #windowMs: number
  #windowStart = Number.NEGATIVE_INFINITY
  #logged = 0
  #suppressed: Map<EslSide, number> = new Map()
  #flushScheduled = false

  constructor(logger: Logger, scheduler: Scheduler, options: ProtocolErrorLogOptions = {}) {
    this.#logger = logger
    this.#scheduler = scheduler
    this.#burst = options.burst ?? PROTOCOL_ERROR_LOG_DEFAULTS.burst
    this.#windowMs = options.windowMs ?? PROTOCOL_ERROR_LOG_DEFAULTS.windowMs
  }

  /** One protocol error from `peer` (`host:port`). */
  report(side: EslSide, peer: string, error: TtsError, what = 'malformed data from FreeSWITCH; closing the connection'): void {
    const now = this.#scheduler.now()
    if (now - this.#windowStart >= this.#windowMs) {
      this.#windowStart = now
      this.#logged = 0
    }
    this.#logger.debug({ side, peer, err: error }, what)
    if (this.#logged < this.#burst) {
      this.#logged++
      this.#logger.warn({ side, peer, code: error.code, reason: error.message }, what)
      return
    }
    this.#suppressed.set(side, (this.#suppressed.get(side) ?? 0) + 1)
    if (!this.#flushScheduled) {
      this.#flushScheduled = true
      this.#scheduler.schedule(this.#windowStart + this.#windowMs - now, () => this.#flush())
    }
  }

  #flush(): void {
    this.#flushScheduled = false
    for (const [side, suppressed] of this.#suppressed) {
      this.#logger.warn(
        { side, suppressed, windowMs: this.#windowMs },
        `${suppressed} more ESL connections sent malformed data in this window (not logged one by one; see tts_esl_protocol_errors_total)`,
      )
    }
    this.#suppressed.clear()
  }
}

/** `host:port` of a socket's peer, for logs ('unknown' once it is gone). */
export function peerOf(socket: { readonly remoteAddress?: string | undefined; readonly remotePort?: number | undefined }): string {
  const address = socket.remoteAddress
  if (address === undefined) return 'unknown'
  return `${address.includes(':') ? `[${address}]` : address}:${socket.remotePort ?? '?'}`
}
