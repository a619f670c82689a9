// @ts-check
/**
 * CPU-profiles a piece of this process through the inspector (what `--cpu-prof` records,
 * limited to one scenario), for the "why was the goal missed" section of RESULTS.md.
 */
import { Session } from 'node:inspector/promises'
import { summarizeCpuProfile } from './cpu-profile.js'

/**
 * @template T
 * @param {() => Promise<T>} run
 * @param {number} [top]
 * @returns {Promise<{ result: T, summary: ReturnType<typeof summarizeCpuProfile> }>}
 */
export async function withCpuProfile(run, top = 15) {
  const session = new Session()
  session.connect()
  try {
    await session.post('Profiler.enable')
    await session.post('Profiler.setSamplingInterval', { interval: 200 })
    await session.post('Profiler.start')
    /** @type {{ ok: true, value: T } | { ok: false, error: unknown }} */
    let outcome
    try {
      outcome = { ok: true, value: await run() }
    } catch (error) {
      outcome = { ok: false, error }
    }
    const { profile } = await session.post('Profiler.stop')
    if (!outcome.ok) throw outcome.error
    return { result: outcome.value, summary: summarizeCpuProfile(/** @type {any} */ (profile), top) }
  } finally {
    session.disconnect()
  }
}
