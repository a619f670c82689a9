/**
 * The watchdog thread's verdict (./watchdog-thread.ts), apart from its timer and its /proc
 * reads so that it is tested with given numbers. Each poll reads the main thread's beat
 * counter and how long, in all, the main thread has waited for a CPU (Linux:
 * /proc/<pid>/task/<pid>/schedstat, its run-queue wait).
 *
 * The loop is charged the time since its last beat minus what the main thread spent waiting
 * for a CPU meanwhile: on-CPU time (a busy loop) and sleeping time (a loop stuck in a
 * synchronous call) count, being starved of CPU by other processes does not. On a loaded
 * machine (load 20–30 on 2 cores) a healthy main thread can wait seconds for a CPU between two
 * beats; charging that as "blocked" killed a working service. A starved loop is still bounded:
 * past `starvedCapFactor` × watchdogMs without a beat, the process is killed whatever the
 * wait. Without the run-queue figure (not Linux, no schedstat) the wall time is charged.
 */

export interface WatchdogReading {
  /** Monotonic time of the poll (ms). */
  readonly now: number
  /** The main thread's beat counter. */
  readonly beats: number
  /** The main thread's total run-queue wait so far (ms); undefined when it cannot be read. */
  readonly cpuWaitMs: number | undefined
}

export type WatchdogVerdict = { readonly kill: false } | { readonly kill: true; readonly blockedMs: number; readonly cpuWaitMs: number }

export interface WatchdogClockOptions {
  readonly watchdogMs: number
  /** The thread's own polls (ms): one that comes much later means the whole process was stalled. */
  readonly pollMs: number
  /** Bound on a starved loop: killed past this many watchdogMs without a beat. */
  readonly starvedCapFactor: number
}

const NOT_YET: WatchdogVerdict = Object.freeze({ kill: false })

export class WatchdogClock {
  readonly #options: WatchdogClockOptions
  /** This thread missed its own polls by more than this: the process, not the loop, was stalled. */
  readonly #ownStallMs: number
  #lastBeats: number
  #lastMoveAt: number
  #cpuWaitAtMove: number | undefined
  #lastPollAt: number

  constructor(options: WatchdogClockOptions, first: WatchdogReading) {
    this.#options = options
    this.#ownStallMs = Math.max(250, options.pollMs * 3)
    this.#lastBeats = first.beats
    this.#lastMoveAt = first.now
    this.#cpuWaitAtMove = first.cpuWaitMs
    this.#lastPollAt = first.now
  }

  /** One poll: kill, or not yet. */
  observe(reading: WatchdogReading): WatchdogVerdict {
    const ownStall = reading.now - this.#lastPollAt > this.#ownStallMs
    this.#lastPollAt = reading.now
    // A whole-process stall (SIGSTOP, a frozen VM) starts the window again instead of blaming the loop.
    if (reading.beats !== this.#lastBeats || ownStall) {
      this.#lastBeats = reading.beats
      this.#lastMoveAt = reading.now
      this.#cpuWaitAtMove = reading.cpuWaitMs
      return NOT_YET
    }
    const wallMs = reading.now - this.#lastMoveAt
    const cpuWaitMs = reading.cpuWaitMs === undefined || this.#cpuWaitAtMove === undefined ? 0 : Math.max(0, reading.cpuWaitMs - this.#cpuWaitAtMove)
    const { watchdogMs, starvedCapFactor } = this.#options
    if (wallMs - cpuWaitMs >= watchdogMs || wallMs >= watchdogMs * starvedCapFactor) return { kill: true, blockedMs: wallMs, cpuWaitMs }
    return NOT_YET
  }
}
