/**
 * Timers behind a port, so every ESL timeout (deadline, command reply, connect phase,
 * back-off, heartbeat watchdog) can be driven by a manual clock in tests instead of sleeping.
 */
export interface Scheduler {
  /** Monotonic milliseconds (only differences are meaningful). */
  now(): number
  /** Runs `callback` once after `delayMs`; returns a function that cancels it (idempotent). */
  schedule(delayMs: number, callback: () => void): () => void
}

/**
 * Real timers. Unref'd: a pending ESL timer never keeps the process alive on its own
 * (the listening servers and sockets do that).
 */
export const systemScheduler: Scheduler = Object.freeze({
  now: () => performance.now(),
  schedule(delayMs: number, callback: () => void): () => void {
    const timer = setTimeout(callback, Math.max(0, delayMs))
    timer.unref()
    return () => clearTimeout(timer)
  },
})
