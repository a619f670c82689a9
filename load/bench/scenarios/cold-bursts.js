// @ts-check
/**
 * Cold bursts, ours vs the classic Lua script, with espeak-ng or the slow (~1 s) fixture:
 * - 100 requests for one new sentence at the same instant;
 * - 100 requests for one new sentence arriving within 100 ms (calls are never perfectly
 *   simultaneous: this is where the Lua script hands out half-written files);
 * - N distinct new sentences at the same instant (60 with espeak-ng; 12 with the slow
 *   engine, whose renders we queue at one per core).
 * Both sides get the same texts, each on its own cache directory. Each workload runs 5
 * interleaved rounds (lib/rounds.js), new sentences every round so every round is cold; the
 * sizes are per round, chosen so the rounds fit the scenario's budget.
 */
import path from 'node:path'
import { LuaBaseline } from '../lua-baseline.js'
import { SLOW_ENGINE, loggedProblems } from '../lib/ours.js'
import { MIN_ROUNDS, interleaved, roundsCaption } from '../lib/rounds.js'
import { runOpenBurst } from '../lib/workload-runner.js'
import { newRunId, sentence, sentences } from '../lib/workload.js'
import { ROUNDS_COMPARISON_HEADERS, problemNotes, roundsComparisonRows } from './compare.js'

/** Sizes per round: the rounds (≥ 5, interleaved) must fit the scenario's budget. */
export function burstPlan(/** @type {boolean} */ quick, /** @type {boolean} */ slow) {
  return { rounds: MIN_ROUNDS, burst: quick ? 5 : 100, distinct: quick ? 5 : slow ? 12 : 60, windowMs: 100 }
}

/**
 * @param {import('./context.js').ScenarioContext} ctx
 * @param {{ engine: 'espeak-ng' | 'slow' }} options
 * @returns {Promise<import('../lib/report.js').Section>}
 */
export async function coldBursts(ctx, options) {
  const slow = options.engine === 'slow'
  const { rounds, burst, distinct, windowMs } = burstPlan(ctx.quick, slow)
  const procNames = slow ? ['slow-engine.sh'] : ['espeak-ng']
  // New sentences every round (the same for both sides within it): each round starts cold.
  const runIds = Array.from({ length: rounds }, () => newRunId())
  const ours = await ctx.startOurs({ workDir: path.join(ctx.workDir, 'ours'), engine: slow ? 'slow' : 'espeak-ng' })
  const lua = new LuaBaseline({ cacheDir: path.join(ctx.workDir, 'lua'), ...(slow ? { engineBin: SLOW_ENGINE } : {}) })
  const oursSystem = { name: 'ours', get: (/** @type {string} */ t) => ours.get(t), renders: () => ours.renders() }
  const luaSystem = { name: 'lua', get: (/** @type {string} */ t) => lua.get(t), renders: () => lua.renders }
  /** @type {string[][]} */
  const rows = []
  /** @type {string[]} */
  const notes = []
  /** @type {Record<string, { ours: import('../lib/workload-runner.js').WorkloadResult[], lua: import('../lib/workload-runner.js').WorkloadResult[], loadBefore: number, loadAfter: number, texts: string[][] }>} */
  const raw = {}
  const runId = (/** @type {number} */ round) => /** @type {string} */ (runIds[round])
  const workloads = [
    { id: 'same-instant', label: `${burst} × one sentence, same instant`, texts: (/** @type {number} */ r) => Array(burst).fill(sentence(runId(r), 0)), arrivalWindowMs: 0 },
    { id: 'window', label: `${burst} × one sentence, within ${windowMs} ms`, texts: (/** @type {number} */ r) => Array(burst).fill(sentence(runId(r), 1)), arrivalWindowMs: windowMs },
    { id: 'distinct', label: `${distinct} distinct sentences, same instant`, texts: (/** @type {number} */ r) => sentences(runId(r), distinct, 10), arrivalWindowMs: 0 },
  ]
  /** @type {string[]} */
  const captions = []
  try {
    for (const w of workloads) {
      if (ctx.signal.aborted) break
      const burstOf = (/** @type {import('../lib/workload-runner.js').System} */ system) => (/** @type {number} */ round) =>
        runOpenBurst(system, w.texts(round), { arrivalWindowMs: w.arrivalWindowMs, engineProcNames: procNames, signal: ctx.signal })
      const r = await interleaved({ ours: burstOf(oursSystem), lua: burstOf(luaSystem) }, { rounds, signal: ctx.signal, progress: ctx.progress, settle: ctx.settle, label: `${options.engine}, ${w.label}` })
      const o = r.runs['ours'] ?? []
      const l = r.runs['lua'] ?? []
      rows.push(...roundsComparisonRows(w.label, o, l))
      captions.push(`${w.id} ${o.length} rounds, ${r.loadBefore.toFixed(2)} → ${r.loadAfter.toFixed(2)}`)
      for (const [i, run] of o.entries()) notes.push(...problemNotes(`ours, ${w.label}, round ${i + 1}`, run))
      const luaBad = l.find((run) => run.invalidReads > 0 || run.errors > 0)
      if (luaBad !== undefined) notes.push(...problemNotes(`Lua, ${w.label} (first round with any)`, luaBad))
      raw[w.id] = { ours: o, lua: l, loadBefore: r.loadBefore, loadAfter: r.loadAfter, texts: o.map((_, i) => [...new Set(w.texts(i))]) }
    }
  } finally {
    await ours.close()
  }
  if (lua.failures.length > 0) notes.push(`Lua: ${lua.failures.length} engine runs exited non-zero (the script ignores it), e.g. ${lua.failures[0]}`)
  const engineName = slow ? `slow fixture engine (${path.relative(ctx.repoRoot, SLOW_ENGINE)}, ~1 s a render)` : 'espeak-ng'
  /** @param {string} id */
  const roundsOk = (id) => {
    const r = raw[id]
    if (r === undefined || r.ours.length === 0) return { ok: false, text: '—' }
    const good = r.ours.filter((run, i) => run.renders === (r.texts[i]?.length ?? -1) && run.errors === 0 && run.invalidReads === 0).length
    return { ok: good === r.ours.length, text: `${good} of ${r.ours.length} rounds` }
  }
  return {
    id: `cold-bursts-${options.engine}`,
    title: `Cold bursts — ${engineName}: ours vs the Lua script`,
    description:
      `Every request is one caller; both sides get the same texts on an empty cache. "Renders" are engine runs ` +
      `(ours: counted around the renderer through buildApp's wrapRenderer; Lua: the script's own os.execute count). ` +
      `"Engine processes at peak" is sampled from /proc (descendants of the bench process). After each answer a reader ` +
      `opens the returned path at once and checks the WAV header against the file size, as FreeSWITCH's playback would. ` +
      `Ours renders at most one per core (the default); the Lua script starts one engine per caller that finds no file. ` +
      `Each workload runs ${rounds} interleaved rounds (ours, Lua; then Lua, ours; …), every round on sentences new to both sides (so every round is cold); ` +
      `a cell is the median over the rounds with the min–max in brackets, a ratio the median (min–max) of the per-round ratios.`,
    tables: [
      {
        caption:
          `${roundsCaption({ rounds: Math.min(rounds, ...Object.values(raw).map((x) => x.ours.length)), perRound: 'one burst', loadBefore: Object.values(raw)[0]?.loadBefore ?? Number.NaN, loadAfter: Object.values(raw).at(-1)?.loadAfter ?? Number.NaN })}` +
          ` (per workload: ${captions.join('; ')})`,
        headers: ROUNDS_COMPARISON_HEADERS,
        rows,
      },
    ],
    goals: [
      {
        name: `one render per sentence under any burst (${options.engine})`,
        target: 'renders = distinct sentences, every round',
        value: workloads.map((w) => `${w.id}: ${roundsOk(w.id).text}`).join(', '),
        met: workloads.every((w) => roundsOk(w.id).ok),
        why: 'see the renders / errors rows above.',
      },
    ],
    method: {
      rounds: `${rounds} interleaved rounds per workload (ours, Lua; order alternating)`,
      perRound: `one burst per side: ${burst} callers for one sentence (same instant; within ${windowMs} ms), ${distinct} distinct sentences (same instant) — new sentences every round`,
      paired: 'round i of ours with round i of Lua (same texts, back to back)',
      reported: 'median over the rounds of p50, p99, wall time, renders; ratio = median of the per-round ratios',
      spread: 'min–max over the rounds',
    },
    notes: [
      ...notes,
      ...loggedProblems(ours),
      `Per round: ${burst}-caller bursts and ${distinct} distinct sentences${slow ? ' (40 before the rounds were interleaved: 5 rounds of 40 ~1 s renders do not fit the 120 s budget)' : ' (200 before the rounds were interleaved: 5 rounds of 200 do not fit the 120 s budget)'}.`,
      'Lua figures are conservative: Node starts the shells one after another from one thread, where FreeSWITCH sessions fork in parallel threads, so ' +
        'its latencies include that serial start and its peak engine processes are a lower bound (early engines finish while later ones are still being started). ' +
        'Its render counts and invalid reads are the robust figures. A Lua p50 in microseconds is a caller handed a file that already existed — often half-written (see the invalid reads).',
    ],
    raw,
  }
}
