// @ts-check
/**
 * Cold bursts, ours vs the classic Lua script, with espeak-ng or the slow (~1 s) fixture:
 * - 100 requests for one new sentence at the same instant;
 * - 100 requests for one new sentence arriving within 100 ms (calls are never perfectly
 *   simultaneous: this is where the Lua script hands out half-written files);
 * - N distinct new sentences at the same instant (200 with espeak-ng; 40 with the slow
 *   engine, whose renders we queue at one per core: 200 would take 100 s).
 * Both sides get the same texts, each on its own empty cache directory.
 */
import path from 'node:path'
import { LuaBaseline } from '../lua-baseline.js'
import { SLOW_ENGINE, loggedProblems } from '../lib/ours.js'
import { runOpenBurst } from '../lib/workload-runner.js'
import { newRunId, sentence, sentences } from '../lib/workload.js'
import { COMPARISON_HEADERS, comparisonRows, problemNotes } from './compare.js'

/**
 * @param {import('./context.js').ScenarioContext} ctx
 * @param {{ engine: 'espeak-ng' | 'slow' }} options
 * @returns {Promise<import('../lib/report.js').Section>}
 */
export async function coldBursts(ctx, options) {
  const slow = options.engine === 'slow'
  const burst = ctx.quick ? 5 : 100
  const distinct = ctx.quick ? 5 : slow ? 40 : 200
  const windowMs = 100
  const procNames = slow ? ['slow-engine.sh'] : ['espeak-ng']
  const runId = newRunId()
  const ours = await ctx.startOurs({ workDir: path.join(ctx.workDir, 'ours'), engine: slow ? 'slow' : 'espeak-ng' })
  const lua = new LuaBaseline({ cacheDir: path.join(ctx.workDir, 'lua'), ...(slow ? { engineBin: SLOW_ENGINE } : {}) })
  const oursSystem = { name: 'ours', get: (/** @type {string} */ t) => ours.get(t), renders: () => ours.renders() }
  const luaSystem = { name: 'lua', get: (/** @type {string} */ t) => lua.get(t), renders: () => lua.renders }
  /** @type {string[][]} */
  const rows = []
  /** @type {string[]} */
  const notes = []
  /** @type {Record<string, unknown>} */
  const raw = {}
  const workloads = [
    { id: 'same-instant', label: `${burst} × one sentence, same instant`, texts: Array(burst).fill(sentence(runId, 0)), arrivalWindowMs: 0 },
    { id: 'window', label: `${burst} × one sentence, within ${windowMs} ms`, texts: Array(burst).fill(sentence(runId, 1)), arrivalWindowMs: windowMs },
    { id: 'distinct', label: `${distinct} distinct sentences, same instant`, texts: sentences(runId, distinct, 10), arrivalWindowMs: 0 },
  ]
  try {
    for (const w of workloads) {
      if (ctx.signal.aborted) break
      ctx.progress(`${options.engine}: ${w.label} (ours)`)
      const o = await runOpenBurst(oursSystem, w.texts, { arrivalWindowMs: w.arrivalWindowMs, engineProcNames: procNames, signal: ctx.signal })
      await ctx.settle()
      ctx.progress(`${options.engine}: ${w.label} (Lua)`)
      const l = await runOpenBurst(luaSystem, w.texts, { arrivalWindowMs: w.arrivalWindowMs, engineProcNames: procNames, signal: ctx.signal })
      await ctx.settle()
      rows.push(...comparisonRows(w.label, o, l))
      notes.push(...problemNotes(`ours, ${w.label}`, o), ...problemNotes(`Lua, ${w.label}`, l))
      raw[w.id] = { ours: o, lua: l }
    }
  } finally {
    await ours.close()
  }
  if (lua.failures.length > 0) notes.push(`Lua: ${lua.failures.length} engine runs exited non-zero (the script ignores it), e.g. ${lua.failures[0]}`)
  const engineName = slow ? `slow fixture engine (${path.relative(ctx.repoRoot, SLOW_ENGINE)}, ~1 s a render)` : 'espeak-ng'
  return {
    id: `cold-bursts-${options.engine}`,
    title: `Cold bursts — ${engineName}: ours vs the Lua script`,
    description:
      `Every request is one caller; both sides get the same texts on an empty cache. "Renders" are engine runs ` +
      `(ours: counted around the renderer through buildApp's wrapRenderer; Lua: the script's own os.execute count). ` +
      `"Engine processes at peak" is sampled from /proc (descendants of the bench process). After each answer a reader ` +
      `opens the returned path at once and checks the WAV header against the file size, as FreeSWITCH's playback would. ` +
      `Ours renders at most ${slow ? 'one per core (the default)' : 'one per core (the default)'}; the Lua script starts one engine per caller that finds no file.`,
    tables: [{ headers: COMPARISON_HEADERS, rows }],
    goals: [
      {
        name: `one render per sentence under any burst (${options.engine})`,
        target: 'renders = distinct sentences',
        value: workloads
          .map((w) => /** @type {any} */ (raw[w.id])?.ours?.renders)
          .map((r, i) => `${r ?? '—'}/${new Set(/** @type {any} */ (workloads[i]).texts).size}`)
          .join(', '),
        met: workloads.every((w) => {
          const r = /** @type {any} */ (raw[w.id])?.ours
          return r !== undefined && r.renders === new Set(w.texts).size && r.errors === 0 && r.invalidReads === 0
        }),
        why: 'see the renders / errors rows above.',
      },
    ],
    notes: [
      ...notes,
      ...loggedProblems(ours),
      'Lua figures are conservative: Node starts the shells one after another from one thread, where FreeSWITCH sessions fork in parallel threads, so ' +
        'its latencies include that serial start and its peak engine processes are a lower bound (early engines finish while later ones are still being started). ' +
        'Its render counts and invalid reads are the robust figures. A Lua p50 in microseconds is a caller handed a file that already existed — often half-written (see the invalid reads).',
    ],
    raw,
  }
}
