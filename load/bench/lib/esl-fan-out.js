// @ts-check
/**
 * ESL fan-out (issue 19, goal 3): N channels ask at once for one phrase nobody has rendered —
 * one render, N − 1 waiters coalesced on it — then N channels ask at once for the same phrase,
 * now cached (N hits). Rounds interleaved (miss burst, then the hit burst of the same phrase),
 * each round a new phrase.
 *
 * Per round:
 * - fan-out: from the moment the service answered the rendering call (esl-serve stamps every
 *   answer with CLOCK_MONOTONIC, the clock the generator stamps `exit` with) to the last
 *   waiter's `exit` — what the waiters pay once the audio exists;
 * - hits: from the first connect of the hit burst to its last `exit`;
 * - ratio fan-out / hits (the goal: ≤ 1.2);
 * - whether the rendering call was answered before every waiter (it must not wait behind them).
 */
import { summarize } from './stats.js'

/** The goal: the waiters of one miss done within this many times N concurrent hits. */
export const ESL_FAN_OUT_GOAL_RATIO = 1.2

/** Long enough that the render outlasts N connects on a busy box (so the callers coalesce rather than hit). */
const LONG_TAIL =
  'Thank you for calling. All of our agents are busy helping other customers right now. Please stay on the line ' +
  'and your call will be answered in the order it was received. You can also reach us on the web at any time.'

/**
 * @typedef {{ firstUs: number, lastUs: number }} Span
 * @typedef {{ byStatus: Record<string, number>, spans: Record<string, Span> }} ServiceReport
 * @typedef {{ ok: boolean, status: string | undefined, exitUs: number }} BurstCall
 * @typedef {(o: { port: number, text: string, channels: number }) => Promise<{ startedUs: number, calls: BurstCall[] }>} RunBurst
 * @typedef {{ round: number, missStatuses: Record<string, number>, hitStatuses: Record<string, number>, failed: number, missTotalMs: number, leaderMs: number, fanOutMs: number, hitsMs: number, ratio: number, leaderFirst: boolean }} FanOutRound
 */

/**
 * @param {Record<string, number>} into
 * @param {readonly BurstCall[]} calls
 */
function countStatuses(into, calls) {
  for (const c of calls) {
    const k = c.ok ? (c.status ?? 'unset') : 'failed'
    into[k] = (into[k] ?? 0) + 1
  }
  return into
}

/** @param {readonly BurstCall[]} calls @param {(c: BurstCall) => boolean} which */
const lastExitUs = (calls, which) => {
  const exits = calls.filter((c) => c.ok && which(c)).map((c) => c.exitUs)
  return exits.length === 0 ? Number.NaN : Math.max(...exits)
}

/**
 * @param {{ port: number, channels: number, rounds: number, prefix: string, signal: AbortSignal,
 *   runBurst: RunBurst, reset: () => Promise<unknown>, report: () => Promise<ServiceReport>, progress: (m: string) => void }} o
 * @returns {Promise<{ rounds: FanOutRound[], ratio: ReturnType<typeof summarize>, fanOutMs: ReturnType<typeof summarize>, hitsMs: ReturnType<typeof summarize> }>}
 */
export async function runEslFanOut(o) {
  /** @type {FanOutRound[]} */
  const rounds = []
  for (let round = 1; round <= o.rounds && !o.signal.aborted; round++) {
    const text = `${o.prefix} fan-out round ${round}. ${LONG_TAIL}`
    o.progress(`fan-out round ${round}/${o.rounds}: ${o.channels} channels on one miss, then ${o.channels} hits of it`)
    await o.reset()
    const miss = await o.runBurst({ port: o.port, text, channels: o.channels })
    const missService = await o.report()
    await o.reset()
    const hit = await o.runBurst({ port: o.port, text, channels: o.channels })
    const leaderUs = missService.spans['rendered']?.firstUs ?? Number.NaN
    const firstWaiterUs = missService.spans['coalesced']?.firstUs ?? Number.POSITIVE_INFINITY
    const fanOutMs = (lastExitUs(miss.calls, (c) => c.status === 'coalesced') - leaderUs) / 1000
    const hitsMs = (lastExitUs(hit.calls, () => true) - hit.startedUs) / 1000
    rounds.push({
      round,
      missStatuses: countStatuses({}, miss.calls),
      hitStatuses: countStatuses({}, hit.calls),
      failed: [...miss.calls, ...hit.calls].filter((c) => !c.ok).length,
      missTotalMs: (lastExitUs(miss.calls, () => true) - miss.startedUs) / 1000,
      leaderMs: (leaderUs - miss.startedUs) / 1000,
      fanOutMs,
      hitsMs,
      ratio: fanOutMs / hitsMs,
      leaderFirst: leaderUs <= firstWaiterUs,
    })
  }
  const finite = (/** @type {number[]} */ xs) => xs.filter((x) => Number.isFinite(x))
  return {
    rounds,
    ratio: summarize(finite(rounds.map((r) => r.ratio))),
    fanOutMs: summarize(finite(rounds.map((r) => r.fanOutMs))),
    hitsMs: summarize(finite(rounds.map((r) => r.hitsMs))),
  }
}
