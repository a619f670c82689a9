// @ts-check
/**
 * k6's `constant-arrival-rate` executor, in Node: iteration i starts at `i / rate` seconds
 * whatever the others do (an open model), at most `maxVus` iterations run at once — an arrival
 * that finds them all busy is dropped and counted (k6's `dropped_iterations`) — and after
 * `durationS` the ones still running get `gracefulStopS` to finish, then are interrupted.
 *
 * The schedule is kept against the clock, not against the previous tick: a late timer makes the
 * next ticks start several iterations at once, never fewer in total. How late each start was is
 * reported (`lagMs`), so a saturated client shows instead of silently thinning the load.
 */
import { setTimeout as sleep } from 'node:timers/promises'

/**
 * @typedef {object} ArrivalRateOptions
 * @property {number} rate iterations per second
 * @property {number} durationS
 * @property {number} maxVus most iterations in flight
 * @property {number} gracefulStopS
 * @property {(iteration: number, signal: AbortSignal) => Promise<void>} iterate must settle once `signal` aborts
 * @property {() => string | undefined} [shouldAbort] polled every second; a reason stops new arrivals (k6's abortOnFail)
 * @property {AbortSignal} [signal] stops new arrivals early (the bench's time budget)
 */

/**
 * @typedef {object} ArrivalRateResult
 * @property {number} started
 * @property {number} dropped arrivals that found `maxVus` iterations in flight
 * @property {number} interrupted still running after the graceful stop
 * @property {number} maxInFlight
 * @property {number[]} lagMs start time minus scheduled time, per started iteration
 * @property {number} wallMs from the first arrival to the last iteration settled
 * @property {string | undefined} abortedBecause
 */

/**
 * @param {ArrivalRateOptions} options
 * @returns {Promise<ArrivalRateResult>}
 */
export async function runConstantArrivalRate(options) {
  const total = Math.round(options.durationS * options.rate)
  const intervalMs = 1000 / options.rate
  const stopAll = new AbortController()
  /** @type {Set<Promise<void>>} */
  const inFlight = new Set()
  /** @type {number[]} */
  const lagMs = []
  let dropped = 0
  let maxInFlight = 0
  /** @type {string | undefined} */
  let abortedBecause
  const began = performance.now()
  let nextAbortCheck = began + 1000
  let i = 0
  while (i < total && abortedBecause === undefined && options.signal?.aborted !== true) {
    const now = performance.now()
    for (; i < total && began + i * intervalMs <= now; i++) {
      if (inFlight.size >= options.maxVus) {
        dropped++
        continue
      }
      lagMs.push(now - (began + i * intervalMs))
      const run = options.iterate(i, stopAll.signal).finally(() => inFlight.delete(run))
      inFlight.add(run)
      maxInFlight = Math.max(maxInFlight, inFlight.size)
    }
    if (options.shouldAbort !== undefined && now >= nextAbortCheck) {
      nextAbortCheck += 1000
      abortedBecause = options.shouldAbort()
    }
    await sleep(Math.max(0, began + i * intervalMs - performance.now()))
  }
  const graceful = sleep(options.gracefulStopS * 1000, 'timeout', { signal: stopAll.signal }).catch(() => 'done')
  const ended = await Promise.race([Promise.allSettled([...inFlight]).then(() => 'done'), graceful])
  const interrupted = ended === 'timeout' ? inFlight.size : 0
  stopAll.abort()
  await Promise.allSettled([...inFlight])
  return { started: lagMs.length, dropped, interrupted, maxInFlight, lagMs, wallMs: performance.now() - began, abortedBecause }
}
