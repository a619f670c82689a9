// @ts-check
/**
 * Interleaved rounds for the ESL scenario (issue 19's method: never one run): the same back-to-back
 * load against two esl-serve processes that differ in one setting (TTS_ESL_CALL_LOG=info, the
 * default, vs off), alternating which goes first each round (A B, B A, A B, …) so drift on the
 * shared box falls on both. Per round: lookups/s, service p50/p99, CPU µs/call of each side and
 * the 1-minute load average; summed up as median (min–max) per variant and the median of the
 * per-round ratios. summarizeShapes does the same for the context rows (1 and 100 channels, paced),
 * which run in interleaved rounds of their own (lib/rounds.js, the order rotating).
 */
import { loadAverage1m, spreadOf } from './stats.js'

/**
 * @typedef {{ count: number, p50Ms: number, p99Ms: number, byStatus: Record<string, number> }} ServiceSummary
 * @typedef {{ calls: number, completed: number, failed: number, byStatus: Record<string, number>, p50Ms: number, p99Ms: number, lookupsPerSecond: number }} ClientSummary
 * @typedef {{ name: string, reset: () => Promise<unknown>, report: () => Promise<{ service: ServiceSummary, cpu: { perCallUs: number } }>, port: number }} RoundServer
 * @typedef {{ round: number, variant: string, client: ClientSummary, service: ServiceSummary, serviceCpuUs: number, clientCpuUs: number, load1m: number }} RoundResult
 * @typedef {import('./stats.js').Spread} Spread
 * @typedef {{ variant: string, rate: Spread, serviceP99Ms: Spread, serviceP50Ms: Spread, serviceCpuUs: Spread, clientCpuUs: Spread, failed: number }} VariantSummary
 */

/**
 * @param {{ servers: readonly RoundServer[], rounds: number, run: (port: number, round: number) => Promise<ClientSummary>, signal: AbortSignal, progress: (m: string) => void }} o
 * @returns {Promise<RoundResult[]>}
 */
export async function runEslRounds(o) {
  /** @type {RoundResult[]} */
  const results = []
  for (let round = 1; round <= o.rounds && !o.signal.aborted; round++) {
    const order = round % 2 === 1 ? o.servers : [...o.servers].reverse()
    for (const server of order) {
      if (o.signal.aborted) break
      o.progress(`round ${round}/${o.rounds}: ${server.name}`)
      const load1m = loadAverage1m()
      await server.reset()
      const since = process.cpuUsage()
      const client = await o.run(server.port, round)
      const used = process.cpuUsage(since)
      const { service, cpu } = await server.report()
      results.push({
        round,
        variant: server.name,
        client,
        service,
        serviceCpuUs: cpu.perCallUs,
        clientCpuUs: client.calls === 0 ? Number.NaN : (used.user + used.system) / client.calls,
        load1m,
      })
    }
  }
  return results
}

/**
 * Median (min–max) of each variant's rounds.
 * @param {readonly RoundResult[]} results
 * @param {string} variant
 * @returns {VariantSummary}
 */
export function summarizeVariant(results, variant) {
  const mine = results.filter((r) => r.variant === variant)
  return {
    variant,
    rate: spreadOf(mine.map((r) => r.client.lookupsPerSecond)),
    serviceP50Ms: spreadOf(mine.map((r) => r.service.p50Ms)),
    serviceP99Ms: spreadOf(mine.map((r) => r.service.p99Ms)),
    serviceCpuUs: spreadOf(mine.map((r) => r.serviceCpuUs)),
    clientCpuUs: spreadOf(mine.map((r) => r.clientCpuUs)),
    failed: mine.reduce((n, r) => n + r.client.failed, 0),
  }
}

/**
 * Per-round ratio `pick(a) / pick(b)` (the two variants of one round), as median (min–max).
 * @param {readonly RoundResult[]} results
 * @param {string} a
 * @param {string} b
 * @param {(r: RoundResult) => number} pick
 * @returns {Spread}
 */
export function roundRatio(results, a, b, pick) {
  /** @type {number[]} */
  const ratios = []
  for (const r of results) {
    if (r.variant !== a) continue
    const other = results.find((x) => x.round === r.round && x.variant === b)
    if (other !== undefined) ratios.push(pick(r) / pick(other))
  }
  return spreadOf(ratios)
}

/**
 * @typedef {{ count: number, p50Ms: number, p90Ms?: number, p99Ms: number, p999Ms?: number, maxMs?: number, byStatus: Record<string, number> }} ShapeService
 * @typedef {{ shape: string, round: number, client: ClientSummary & { dropped?: number, peakInFlight?: number }, service: ShapeService, cpu: { serviceUs: number, clientUs: number }, load1m: number }} ShapeRun
 */

/**
 * The context rows (1 and 100 channels back to back, paced) from their interleaved rounds: per
 * load shape, in the order first seen, the median (min–max) over its rounds of every figure;
 * calls, statuses, failures and drops summed over the rounds, the peak in flight the highest.
 * @param {readonly ShapeRun[]} runs
 */
export function summarizeShapes(runs) {
  const shapes = [...new Set(runs.map((r) => r.shape))]
  return shapes.map((shape) => {
    const mine = runs.filter((r) => r.shape === shape)
    /** @type {Record<string, number>} */
    const byStatus = {}
    for (const r of mine) for (const [k, v] of Object.entries(r.client.byStatus)) byStatus[k] = (byStatus[k] ?? 0) + v
    const over = (/** @type {(r: ShapeRun) => number | undefined} */ pick) => spreadOf(mine.map((r) => pick(r) ?? Number.NaN))
    return {
      shape,
      rounds: mine.length,
      calls: mine.reduce((a, r) => a + r.client.calls, 0),
      byStatus,
      failed: mine.reduce((a, r) => a + r.client.failed, 0),
      dropped: mine.reduce((a, r) => a + (r.client.dropped ?? 0), 0),
      peakInFlight: Math.max(0, ...mine.map((r) => r.client.peakInFlight ?? 0)),
      rate: over((r) => r.client.lookupsPerSecond),
      clientP50Ms: over((r) => r.client.p50Ms),
      clientP99Ms: over((r) => r.client.p99Ms),
      serviceP50Ms: over((r) => r.service.p50Ms),
      serviceP99Ms: over((r) => r.service.p99Ms),
      serviceP999Ms: over((r) => r.service.p999Ms),
      serviceMaxMs: over((r) => r.service.maxMs),
      serviceCpuUs: over((r) => r.cpu.serviceUs),
      clientCpuUs: over((r) => r.cpu.clientUs),
      load1m: over((r) => r.load1m),
    }
  })
}
