import { TtsError } from './errors.js'

export interface JoinOptions {
  /** This waiter gives up when the signal aborts; the work goes on for the others. */
  readonly signal?: AbortSignal | undefined
  /**
   * Keep the work running even if every waiter detaches (pre-warm, or an ESL call whose
   * deadline passed: the next caller should find the file ready).
   */
  readonly keepAlive?: boolean | undefined
}

export interface Joined<V> {
  readonly promise: Promise<V>
  /** false for the waiter that started the work, true for those that joined it. */
  readonly joined: boolean
}

/**
 * A waiter's place in a flight with no promise or signal of its own: for a caller that holds a
 * burst of waiters on one key and answers them together (the HTTP hit listener).
 */
export interface Seat<V> {
  /** The flight's own promise, the same object for every seat of the flight. */
  readonly promise: Promise<V>
  /**
   * Gives the seat up before the work settles, as a waiter whose signal aborted: when its
   * deadline passed (`deadlinePassed`) the work is kept for the retry, otherwise it is cancelled
   * once nobody waits. True if it took effect; false once the work has settled or the seat was
   * given up already (then nothing changes: the waiter has its outcome).
   */
  leave(deadlinePassed: boolean): boolean
}

interface Flight<V> {
  readonly promise: Promise<V>
  readonly controller: AbortController
  waiters: number
  keepAlive: boolean
  settled: boolean
}

/**
 * One piece of work per key at a time: concurrent callers share one promise (no polling).
 * A waiter that aborts detaches alone; the work is cancelled (its signal aborted) only when
 * no waiter is left and none asked to keep it alive (a waiter that detaches because its
 * deadline passed — TTS_ERR_DEADLINE_EXCEEDED or a TimeoutError — asks for that). Results and failures are not kept:
 * once the work settles the next call for the key starts afresh.
 */
export class SingleFlight<V> {
  readonly #flights = new Map<string, Flight<V>>()
  readonly #onOrphanError: (key: string, err: unknown) => void

  /** `onOrphanError` sees failures nobody was left waiting for (so none vanish). */
  constructor(onOrphanError: (key: string, err: unknown) => void) {
    this.#onOrphanError = onOrphanError
  }

  get size(): number {
    return this.#flights.size
  }

  has(key: string): boolean {
    return this.#flights.has(key)
  }

  /** Promises of all work in flight (for a bounded drain on shutdown). */
  inFlight(): Promise<unknown>[] {
    return [...this.#flights.values()].map((f) => f.promise.catch(() => undefined))
  }

  run(key: string, work: (signal: AbortSignal) => Promise<V>, options: JoinOptions = {}): Joined<V> {
    let flight = this.#flights.get(key)
    const joined = flight !== undefined
    // A caller that has already given up must not start (or keep alive) anything.
    if (options.signal?.aborted === true) return { promise: Promise.reject(abortError(options.signal)), joined }
    if (flight === undefined) {
      const controller = new AbortController()
      const promise = Promise.resolve().then(() => work(controller.signal))
      const created: Flight<V> = { promise, controller, waiters: 0, keepAlive: false, settled: false }
      flight = created
      this.#flights.set(key, created)
      promise.then(
        () => this.#settle(key, created),
        (err: unknown) => {
          this.#settle(key, created)
          if (created.waiters === 0) this.#onOrphanError(key, err)
        },
      )
    }
    if (options.keepAlive === true) flight.keepAlive = true
    return { promise: this.#wait(flight, options.signal), joined }
  }

  /**
   * A seat in the work in flight for `key`, or undefined when there is none (start it with `run`).
   * The seat counts as a waiter until the work settles or `leave` is called.
   */
  seat(key: string): Seat<V> | undefined {
    const flight = this.#flights.get(key)
    if (flight === undefined) return undefined
    flight.waiters++
    let left = false
    return {
      promise: flight.promise,
      leave: (deadlinePassed) => {
        if (left || flight.settled) return false
        left = true
        this.#detach(flight, deadlinePassed)
        return true
      },
    }
  }

  #settle(key: string, flight: Flight<V>): void {
    flight.settled = true
    if (this.#flights.get(key) === flight) this.#flights.delete(key)
  }

  #wait(flight: Flight<V>, signal: AbortSignal | undefined): Promise<V> {
    if (signal === undefined) {
      flight.waiters++
      return flight.promise.finally(() => {
        flight.waiters--
      })
    }
    if (signal.aborted) return Promise.reject(abortError(signal))
    flight.waiters++
    return new Promise<V>((resolve, reject) => {
      let done = false
      const onAbort = (): void => {
        if (done) return
        done = true
        const error = abortError(signal)
        this.#detach(flight, error.code === 'TTS_ERR_DEADLINE_EXCEEDED')
        reject(error)
      }
      signal.addEventListener('abort', onAbort, { once: true })
      flight.promise.then(
        (value) => {
          if (done) return
          done = true
          flight.waiters--
          signal.removeEventListener('abort', onAbort)
          resolve(value)
        },
        (err: unknown) => {
          if (done) return
          done = true
          flight.waiters--
          signal.removeEventListener('abort', onAbort)
          reject(err)
        },
      )
    })
  }

  /**
   * A waiter whose own deadline passed still wants the result, only not this late: the work is
   * kept for its retry (and the next caller), as with keepAlive. A waiter that went away does not.
   */
  #detach(flight: Flight<V>, deadlinePassed: boolean): void {
    flight.waiters--
    if (deadlinePassed) flight.keepAlive = true
    if (flight.waiters === 0 && !flight.keepAlive) {
      flight.controller.abort(new TtsError('TTS_ERR_ABORTED'))
    }
  }
}

/** The typed error a waiter gets when its own signal aborts. */
export function abortError(signal: AbortSignal): TtsError {
  const reason: unknown = signal.reason
  if (reason instanceof TtsError) return reason
  if (reason instanceof Error && reason.name === 'TimeoutError') {
    return new TtsError('TTS_ERR_DEADLINE_EXCEEDED', { cause: reason, args: ['the deadline'] })
  }
  return new TtsError('TTS_ERR_ABORTED', { cause: reason })
}
