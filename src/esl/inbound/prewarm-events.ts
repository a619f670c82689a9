import { toTtsError } from '../../core/errors.js'
import { HOOK_VARIABLES } from '../codec/channel-data.js'
import type { Logger } from '../../core/ports/index.js'
import type { EslEvent } from '../codec/event.js'
import { observe } from '../observe.js'
import { percentDecodeStrict } from '../codec/percent-decode.js'
import type { EslObserver, EslTtsService } from '../ports.js'

export interface PrewarmStats {
  readonly accepted: number
  readonly dropped: number
  readonly invalid: number
  readonly inFlight: number
}

export interface PrewarmDispatcherOptions {
  readonly service: EslTtsService
  readonly logger: Logger
  readonly observer: EslObserver | undefined
  /** Event-Subclass to act on (default `tts_cache::prewarm`). */
  readonly subclass: string
  /** Requests in flight at once; more are dropped (the next CUSTOM event can ask again). */
  readonly maxInFlight: number
}

/**
 * Turns CUSTOM `tts_cache::prewarm` events (headers tts_cache_text, tts_cache_voice,
 * tts_cache_engine, tts_cache_rate: the channel variables' names, see call-input.ts)
 * into pre-warm renders: `service.get(…, {priority: 'prewarm', source: 'esl'})`, which queue
 * behind live calls and keep running with nobody waiting. Bounded in flight; every failure is
 * logged with its code. Other events are ignored.
 */
export class PrewarmDispatcher {
  readonly #options: PrewarmDispatcherOptions
  #accepted = 0
  #dropped = 0
  #invalid = 0
  #inFlight = 0

  constructor(options: PrewarmDispatcherOptions) {
    this.#options = options
  }

  stats(): PrewarmStats {
    return { accepted: this.#accepted, dropped: this.#dropped, invalid: this.#invalid, inFlight: this.#inFlight }
  }

  /** true when the event was a pre-warm request (accepted or not). */
  handle(event: EslEvent): boolean {
    if (event.name !== 'CUSTOM' || event.subclass !== this.#options.subclass) return false
    const { logger, observer } = this.#options
    const read = (name: string): string | undefined | null => {
      const raw = event.rawHeaders.get(name)
      if (raw === undefined) return undefined
      return event.urlEncoded ? (percentDecodeStrict(raw) ?? null) : raw
    }
    const text = read(HOOK_VARIABLES.text)
    const voice = read(HOOK_VARIABLES.voice)
    const engine = read(HOOK_VARIABLES.engine)
    const rate = read(HOOK_VARIABLES.rate)
    if (text === undefined || text === null || voice === null || engine === null || rate === null) {
      this.#invalid++
      observe(observer, logger, 'prewarm', 'invalid')
      logger.warn({ hasText: text !== undefined }, 'ignoring tts_cache::prewarm event without a valid UTF-8 tts_cache_text')
      return true
    }
    if (this.#inFlight >= this.#options.maxInFlight) {
      this.#dropped++
      observe(observer, logger, 'prewarm', 'dropped')
      logger.warn({ inFlight: this.#inFlight, dropped: this.#dropped }, 'too many pre-warm requests in flight; event dropped')
      return true
    }
    this.#accepted++
    this.#inFlight++
    observe(observer, logger, 'prewarm', 'accepted')
    const blank = (v: string | undefined): string | undefined => (v === '' ? undefined : v)
    void this.#options.service
      .get({ text, voice: blank(voice), engine: blank(engine), sampleRate: blank(rate) }, { priority: 'prewarm', source: 'esl' })
      .then(
        (result) => logger.debug({ key: result.key, status: result.status }, 'pre-warm from CUSTOM event done'),
        (err: unknown) => {
          const error = toTtsError(err)
          logger.warn({ code: error.code, err: error }, 'pre-warm from CUSTOM event failed')
        },
      )
      .finally(() => {
        this.#inFlight--
      })
    return true
  }
}
