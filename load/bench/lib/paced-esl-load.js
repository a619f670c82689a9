// @ts-check
/**
 * An open-model driver for load/esl-load.ts: calls arrive at a steady rate whatever the others
 * do (runEslLoad itself is closed-loop: each channel calls again when its call ends).
 */
import { setTimeout as sleep } from 'node:timers/promises'

/**
 * @typedef {{ calls: number, completed: number, failed: number, byStatus: Record<string, number>, p50Ms: number, p99Ms: number, lookupsPerSecond: number }} ClientSummary
 */

/**
 * Open model: one call every 1000/rate ms (each a one-call runEslLoad), at most `maxInFlight`
 * at once (a call that would exceed it is counted as dropped, not queued). Bounded by `calls`.
 * @param {(o: Record<string, unknown>) => Promise<any>} runEslLoad
 * @param {{ port: number, phrases: number, zipfS: number, prefix: string, ratePerSecond: number, calls: number, maxInFlight: number, signal: AbortSignal }} o
 * @returns {Promise<ClientSummary & { dropped: number, peakInFlight: number }>}
 */
export async function runPaced(runEslLoad, o) {
  /** @type {number[]} */
  const times = []
  /** @type {Record<string, number>} */
  const byStatus = {}
  let failed = 0
  let dropped = 0
  let inFlight = 0
  let peakInFlight = 0
  /** @type {Promise<void>[]} */
  const pending = []
  const started = performance.now()
  for (let i = 0; i < o.calls && !o.signal.aborted; i++) {
    const wait = started + (i * 1000) / o.ratePerSecond - performance.now()
    if (wait > 0) await sleep(wait)
    if (inFlight >= o.maxInFlight) {
      dropped++
      continue
    }
    inFlight++
    peakInFlight = Math.max(peakInFlight, inFlight)
    pending.push(
      runEslLoad({ port: o.port, channels: 1, calls: 1, phrases: o.phrases, zipfS: o.zipfS, textPrefix: o.prefix, seed: i + 1 }).then(
        (r) => {
          inFlight--
          if (r.completed === 1) times.push(r.p50Ms)
          else failed++
          for (const [k, v] of Object.entries(/** @type {Record<string, number>} */ (r.byStatus))) byStatus[k] = (byStatus[k] ?? 0) + v
        },
        () => {
          inFlight--
          failed++
        },
      ),
    )
  }
  await Promise.all(pending)
  const elapsedMs = performance.now() - started
  const sorted = times.sort((a, b) => a - b)
  const at = (/** @type {number} */ p) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? Number.NaN
  return {
    calls: times.length + failed,
    completed: times.length,
    failed,
    dropped,
    peakInFlight,
    byStatus,
    p50Ms: at(50),
    p99Ms: at(99),
    lookupsPerSecond: times.length / (elapsedMs / 1000),
  }
}

