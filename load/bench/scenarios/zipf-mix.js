// @ts-check
/**
 * The Zipf mix, ours vs the Lua script (espeak-ng): 1,000 phrases with Zipf(1.0) popularity,
 * a fixed sequence of requests drawn once (the same for both), played by a pool of callers
 * in a closed loop, from an empty cache.
 */
import path from 'node:path'
import { loggedProblems } from '../lib/ours.js'
import { LuaBaseline } from '../lua-baseline.js'
import { runClosedLoop } from '../lib/workload-runner.js'
import { newRunId, seededRandom, sentences, zipfSampler } from '../lib/workload.js'
import { fmtInt } from '../lib/stats.js'
import { COMPARISON_HEADERS, comparisonRows, problemNotes } from './compare.js'

/**
 * @param {import('./context.js').ScenarioContext} ctx
 * @returns {Promise<import('../lib/report.js').Section>}
 */
export async function zipfMix(ctx) {
  const phrases = ctx.quick ? 50 : 1000
  const requests = ctx.quick ? 100 : 3000
  const callers = ctx.quick ? 8 : 32
  const s = 1.0
  const texts = sentences(newRunId(), phrases)
  const next = zipfSampler(phrases, s, seededRandom(42))
  const sequence = Array.from({ length: requests }, () => /** @type {string} */ (texts[next()]))
  const unique = new Set(sequence).size

  const ours = await ctx.startOurs({ workDir: path.join(ctx.workDir, 'ours'), engine: 'espeak-ng' })
  let o
  try {
    ctx.progress(`ours: ${requests} requests, ${callers} callers`)
    o = await runClosedLoop({ name: 'ours', get: (t) => ours.get(t), renders: () => ours.renders() }, sequence, {
      callers,
      engineProcNames: ['espeak-ng'],
      signal: ctx.signal,
    })
  } finally {
    await ours.close()
  }
  await ctx.settle()
  const lua = new LuaBaseline({ cacheDir: path.join(ctx.workDir, 'lua') })
  ctx.progress(`Lua: ${requests} requests, ${callers} callers`)
  const l = await runClosedLoop({ name: 'lua', get: (t) => lua.get(t), renders: () => lua.renders }, sequence, {
    callers,
    engineProcNames: ['espeak-ng'],
    signal: ctx.signal,
  })
  const hitPct = (/** @type {import('../lib/workload-runner.js').WorkloadResult} */ r) =>
    `${(((r.statuses['hit'] ?? 0) * 100) / Math.max(1, r.requests)).toFixed(1)}%`
  const label = `${fmtInt(requests)} requests, ${fmtInt(phrases)} phrases`
  return {
    id: 'zipf-mix',
    title: 'Zipf mix from a cold cache — espeak-ng: ours vs the Lua script',
    description:
      `${fmtInt(requests)} requests drawn once from ${fmtInt(phrases)} phrases with Zipf(s = ${s}) popularity ` +
      `(${fmtInt(unique)} distinct phrases asked), played by ${callers} callers in a closed loop (each asks again as soon ` +
      `as it has its answer), starting from an empty cache. Same sequence for both sides.`,
    tables: [
      {
        headers: COMPARISON_HEADERS,
        rows: [
          ...comparisonRows(label, o, l),
          ['', 'answered from cache (hit)', hitPct(o), hitPct(l), ''],
          ['', 'answered by joining a render in flight (coalesced)', fmtInt(o.statuses['coalesced'] ?? 0), '— (no such thing)', ''],
        ],
      },
    ],
    goals: [
      {
        name: 'one render per distinct phrase (Zipf mix)',
        target: `renders = ${fmtInt(unique)}`,
        value: fmtInt(o.renders),
        met: o.renders === unique && o.errors === 0,
        why: 'see the renders and errors rows.',
      },
    ],
    notes: [...problemNotes('ours', o), ...problemNotes('Lua', l), ...loggedProblems(ours)],
    raw: { ours: o, lua: l, unique, requests, phrases, callers },
  }
}
