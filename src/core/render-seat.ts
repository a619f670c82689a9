import type { TtsError } from './errors.js'
import type { RequestSource, TtsObserver } from './ports/index.js'
import type { Seat } from './single-flight.js'
import type { TtsResult } from './tts-types.js'
import { countOutcome } from './count-outcome.js'

/**
 * A coalesced wait on a render in flight with no promise, signal or timer of its own
 * (`TtsService.seat`): for a caller that holds a burst of waiters on one render and answers
 * them together (the HTTP hit listener: issue 19, goal 3). Counted as a coalesced wait when
 * taken, as `getFor` counts one; its holder ends it exactly once, with `end` or `leave`, and
 * each is counted as `getFor` counts a joined caller's result or failure.
 */
export interface RenderSeat {
  /**
   * The render's outcome as a coalesced caller gets it: its result (status coalesced), or its
   * error as a TtsError. One promise for every seat of the render.
   */
  readonly result: Promise<TtsResult>
  /** The render settled: counts this seat's outcome (`result`'s value or error). */
  end(outcome: TtsResult | TtsError): void
  /**
   * Gives the seat up before the render settles, as a waiter whose signal aborted with `error`:
   * TTS_ERR_DEADLINE_EXCEEDED keeps the render going for the retry; any other (the client went
   * away) cancels it once nobody waits. Counts the failure and returns true; returns false,
   * counting nothing, once the render has settled (then `end` it with the outcome).
   */
  leave(error: TtsError): boolean
}

/** A RenderSeat over a SingleFlight seat: one small object per waiter. */
export class CoalescedSeat implements RenderSeat {
  readonly result: Promise<TtsResult>
  readonly #seat: Seat<unknown>
  readonly #source: RequestSource
  readonly #observer: TtsObserver | undefined
  readonly #started = performance.now()

  constructor(seat: Seat<unknown>, result: Promise<TtsResult>, source: RequestSource, observer: TtsObserver | undefined) {
    this.#seat = seat
    this.result = result
    this.#source = source
    this.#observer = observer
    observer?.coalesced?.(source)
  }

  end(outcome: TtsResult | TtsError): void {
    countOutcome(this.#observer, this.#source, outcome, this.#started)
  }

  leave(error: TtsError): boolean {
    if (!this.#seat.leave(error.code === 'TTS_ERR_DEADLINE_EXCEEDED')) return false
    countOutcome(this.#observer, this.#source, error, this.#started)
    return true
  }
}
