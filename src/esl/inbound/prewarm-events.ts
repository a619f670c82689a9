import { toTtsError } from '../../core/errors.js'
import type { PrewarmItem, PrewarmRequest } from '../../core/prewarm-batches.js'
import { HOOK_VARIABLES } from '../codec/channel-data.js'
import type { Logger } from '../../core/ports/index.js'
import type { EslEvent } from '../codec/event.js'
import { observe } from '../observe.js'
import { percentDecodeStrict } from '../codec/percent-decode.js'
import type { EslObserver, EslPrewarm } from '../ports.js'

export interface PrewarmStats {
  readonly accepted: number
  readonly dropped: number
  readonly invalid: number
  readonly inFlight: number
}

export interface PrewarmDispatcherOptions {
  /** The app's pre-warm tracker (shared with POST /v1/prewarm and the CLI). */
  readonly prewarm: EslPrewarm
  readonly logger: Logger
  readonly observer: EslObserver | undefined
  /** Event-Subclass to act on (default `tts_cache::prewarm`). */
  readonly subclass: string
  /** Requests in flight at once; more are dropped (the next CUSTOM event can ask again). */
  readonly maxInFlight: number
}

/**
 * Turns CUSTOM `tts_cache::prewarm` events (headers tts_cache_text, tts_cache_voice,
 * tts_cache_engine, tts_cache_rate: the channel variables' names, see call-input.ts) into
 * one-item requests to the app's pre-warm tracker, the one POST /v1/prewarm and the CLI use:
 * the same validation and store lookup, `prewarm` priority behind live calls, the same bounds,
 * and metrics under source `prewarm`. Bounded in flight here too; every failure is logged with
 * its code. Other events are ignored.
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
    const item = prewarmItemOf(event)
    if (item === undefined) {
      this.#invalid++
      observe(observer, logger, 'prewarm', 'invalid')
      logger.warn({ hasText: event.rawHeaders.has(HOOK_VARIABLES.text) }, 'ignoring tts_cache::prewarm event without a valid UTF-8 tts_cache_text')
      return true
    }
    if (this.#inFlight >= this.#options.maxInFlight) {
      this.#drop({ inFlight: this.#inFlight }, 'too many pre-warm requests in flight; event dropped')
      return true
    }
    let request: PrewarmRequest
    try {
      request = this.#options.prewarm.request([item])
    } catch (err) {
      // Shutting down, or too many pre-warm items pending: the next CUSTOM event can ask again.
      this.#drop({ code: toTtsError(err).code }, 'the pre-warm tracker refused the event; dropped')
      return true
    }
    this.#accepted++
    this.#inFlight++
    observe(observer, logger, 'prewarm', 'accepted')
    request.finished
      .then((progress) => {
        for (const e of progress.errors) logger.warn({ code: e.code, message: e.message }, 'pre-warm from CUSTOM event failed')
        if (progress.errors.length === 0) logger.debug({ batch: progress.id, cached: progress.cached, rendered: progress.rendered }, 'pre-warm from CUSTOM event done')
      })
      .catch((err: unknown) => logger.error({ err }, 'pre-warm from CUSTOM event: reporting failed'))
      .finally(() => {
        this.#inFlight--
      })
    return true
  }

  #drop(context: Record<string, unknown>, message: string): void {
    this.#dropped++
    observe(this.#options.observer, this.#options.logger, 'prewarm', 'dropped')
    this.#options.logger.warn({ ...context, dropped: this.#dropped }, message)
  }
}

/** The event's phrase (an empty header means the default), or undefined without a valid UTF-8 tts_cache_text. */
function prewarmItemOf(event: EslEvent): PrewarmItem | undefined {
  const read = (name: string): string | undefined | null => {
    const raw = event.rawHeaders.get(name)
    if (raw === undefined) return undefined
    return event.urlEncoded ? (percentDecodeStrict(raw) ?? null) : raw
  }
  const text = read(HOOK_VARIABLES.text)
  const voice = read(HOOK_VARIABLES.voice)
  const engine = read(HOOK_VARIABLES.engine)
  const rate = read(HOOK_VARIABLES.rate)
  if (text === undefined || text === null || voice === null || engine === null || rate === null) return undefined
  const blank = (v: string | undefined): string | undefined => (v === '' ? undefined : v)
  return { text, voice: blank(voice), engine: blank(engine), sampleRate: blank(rate) }
}
