// @ts-check
/**
 * Drives one workload against one system (ours or the Lua baseline) and measures what the
 * results tables show: latency of each request, renders, engine processes at peak, and how
 * many returned paths held a partial/invalid WAV when a reader opened them at once.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import { startProcSampler } from './proc-sampler.js'
import { summarize } from './stats.js'
import { checkWavAt } from './wav-check.js'

/**
 * @typedef {object} System
 * @property {string} name
 * @property {(text: string) => Promise<{ path: string, status?: string, rendered?: boolean }>} get
 * @property {() => number} renders
 */

/**
 * @typedef {object} WorkloadResult
 * @property {number} requests
 * @property {number} renders
 * @property {number} peakEngineProcs
 * @property {import('./stats.js').Summary} latency
 * @property {number} invalidReads
 * @property {string[]} invalidReasons a few examples
 * @property {number} errors
 * @property {string[]} errorExamples
 * @property {number} wallMs
 * @property {Record<string, number>} statuses
 */

/**
 * Opens-and-validates a returned path, like FreeSWITCH's playback would, right away.
 * @param {{ path: string }} result
 */
async function readerCheck(result) {
  return checkWavAt(result.path)
}

/**
 * Open model: request i starts at `i * arrivalWindowMs / n` ms, whatever the others do
 * (calls do not wait for each other).
 * @param {System} system
 * @param {readonly string[]} texts one per request
 * @param {{ arrivalWindowMs: number, engineProcNames: readonly string[], signal?: AbortSignal }} options
 * @returns {Promise<WorkloadResult>}
 */
export async function runOpenBurst(system, texts, options) {
  const rendersBefore = system.renders()
  const sampler = await startProcSampler({ names: options.engineProcNames })
  const n = texts.length
  const started = performance.now()
  const outcomes = await Promise.all(
    texts.map(async (text, i) => {
      const at = options.arrivalWindowMs === 0 ? 0 : (i * options.arrivalWindowMs) / n
      if (at > 0) await sleep(at)
      return oneRequest(system, text, options.signal)
    }),
  )
  const wallMs = performance.now() - started
  const procs = await sampler.stop()
  return collect(outcomes, system.renders() - rendersBefore, procs.peak, wallMs)
}

/**
 * Closed model: `callers` loops, each taking the next request when its previous one is done.
 * @param {System} system
 * @param {readonly string[]} texts the request sequence (already drawn from the popularity law)
 * @param {{ callers: number, engineProcNames: readonly string[], signal?: AbortSignal }} options
 * @returns {Promise<WorkloadResult>}
 */
export async function runClosedLoop(system, texts, options) {
  const rendersBefore = system.renders()
  const sampler = await startProcSampler({ names: options.engineProcNames })
  /** @type {Outcome[]} */
  const outcomes = []
  let next = 0
  const started = performance.now()
  await Promise.all(
    Array.from({ length: options.callers }, async () => {
      while (next < texts.length && options.signal?.aborted !== true) {
        const text = /** @type {string} */ (texts[next++])
        outcomes.push(await oneRequest(system, text, options.signal))
      }
    }),
  )
  const wallMs = performance.now() - started
  const procs = await sampler.stop()
  return collect(outcomes, system.renders() - rendersBefore, procs.peak, wallMs)
}

/**
 * @typedef {{ ms: number, status: string, valid: boolean, reason?: string, error?: string }} Outcome
 */

/**
 * @param {System} system
 * @param {string} text
 * @param {AbortSignal | undefined} signal
 * @returns {Promise<Outcome>}
 */
async function oneRequest(system, text, signal) {
  if (signal?.aborted === true) return { ms: 0, status: 'error', valid: false, error: 'scenario timed out' }
  const start = performance.now()
  try {
    const result = await system.get(text)
    const ms = performance.now() - start
    const check = await readerCheck(result)
    const status = result.status ?? (result.rendered === true ? 'rendered' : 'hit')
    return check.ok ? { ms, status, valid: true } : { ms, status, valid: false, reason: check.reason }
  } catch (err) {
    const e = /** @type {{ code?: string, message?: string }} */ (err)
    return { ms: performance.now() - start, status: 'error', valid: false, error: `${e.code ?? ''} ${e.message ?? String(err)}`.trim() }
  }
}

/**
 * @param {Outcome[]} outcomes
 * @param {number} renders
 * @param {number} peak
 * @param {number} wallMs
 * @returns {WorkloadResult}
 */
function collect(outcomes, renders, peak, wallMs) {
  const ok = outcomes.filter((o) => o.error === undefined)
  const invalid = ok.filter((o) => !o.valid)
  const errors = outcomes.filter((o) => o.error !== undefined)
  /** @type {Record<string, number>} */
  const statuses = {}
  for (const o of outcomes) statuses[o.status] = (statuses[o.status] ?? 0) + 1
  return {
    requests: outcomes.length,
    renders,
    peakEngineProcs: peak,
    latency: summarize(ok.map((o) => o.ms)),
    invalidReads: invalid.length,
    invalidReasons: [...new Set(invalid.map((o) => o.reason ?? ''))].slice(0, 3),
    errors: errors.length,
    errorExamples: [...new Set(errors.map((o) => o.error ?? ''))].slice(0, 3),
    wallMs,
    statuses,
  }
}
