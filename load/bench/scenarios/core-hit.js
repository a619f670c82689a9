// @ts-check
/**
 * In-process hit lookup: TtsService.get for a cached phrase (validate, normalise, key,
 * memory index, a stat of the file), one call at a time, each in its own event-loop turn, vs the Lua script's hit path (md5(text) + a file
 * existence check — what it does before every playback), in interleaved rounds (lib/rounds.js).
 */
import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { setImmediate as nextTurn } from 'node:timers/promises'
import { loggedProblems } from '../lib/ours.js'
import { MIN_ROUNDS, interleaved, overRounds, pairedRatio, roundsCaption } from '../lib/rounds.js'
import { fmtInt, fmtMs, fmtSpread, fmtTimes, summarize } from '../lib/stats.js'
import { newRunId, sentences } from '../lib/workload.js'

/**
 * Runs `fn` `n` times one after the other, each call in a turn of the event loop of its own (as
 * calls from separate connections are: the store shares a file's stat only between the lookups of
 * one turn, and a loop of awaited calls would otherwise run all of them in one turn); per-call
 * latency, and the rate of one caller (calls ÷ the time spent in them: the turns between calls,
 * the same for both sides, are not timed).
 * @param {number} n
 * @param {() => Promise<unknown> | unknown} fn
 */
async function measure(n, fn) {
  const samples = new Float64Array(n)
  let inCalls = 0
  for (let i = 0; i < n; i++) {
    await nextTurn()
    const t = performance.now()
    await fn()
    samples[i] = performance.now() - t
    inCalls += samples[i]
  }
  return { latency: summarize(samples), perSecond: n / (inCalls / 1000) }
}


/** Rounds and calls per round: 7 interleaved rounds of 40,000 calls per side (quick: 5 × 500). */
export function coreHitPlan(/** @type {boolean} */ quick) {
  return { rounds: quick ? MIN_ROUNDS : 7, n: quick ? 500 : 40_000, warmUp: quick ? 500 : 20_000 }
}

/**
 * @param {import('./context.js').ScenarioContext} ctx
 * @returns {Promise<import('../lib/report.js').Section>}
 */
export async function coreHit(ctx) {
  const { rounds, n, warmUp } = coreHitPlan(ctx.quick)
  const phrases = sentences(newRunId(), 20)
  const ours = await ctx.startOurs({ workDir: path.join(ctx.workDir, 'ours'), engine: 'espeak-ng' })
  // The Lua hit path: md5 the text, check the file exists.
  const luaDir = path.join(ctx.workDir, 'lua')
  mkdirSync(luaDir, { recursive: true })
  const luaPath = (/** @type {string} */ text) => path.join(luaDir, `${createHash('md5').update(text, 'utf8').digest('hex')}.wav`)
  for (const text of phrases) writeFileSync(luaPath(text), 'RIFF')
  const phrase = (/** @type {number} */ i) => /** @type {string} */ (phrases[i % phrases.length])
  /** @type {import('../lib/rounds.js').Rounds<Awaited<ReturnType<typeof measure>>>} */
  let r
  try {
    for (const text of phrases) await ours.get(text)
    const service = ours.service
    let i = 0
    let j = 0
    const oursRun = (/** @type {number} */ count) => measure(count, () => service.get({ text: phrase(i++) }, { source: 'esl' }))
    const luaRun = (/** @type {number} */ count) => measure(count, () => existsSync(luaPath(phrase(j++))))
    // A JIT warm-up of both paths, named in the method: a micro-benchmark's first calls run
    // unoptimised code, which says nothing about a service that has been up for a while.
    await oursRun(warmUp)
    await luaRun(warmUp)
    const targets = { ours: () => oursRun(n), lua: () => luaRun(n) }
    ctx.progress(`${rounds} interleaved rounds of ${n} hit lookups per side`)
    r = await interleaved(targets, { rounds, signal: ctx.signal, progress: ctx.progress })
  } finally {
    await ours.close()
  }
  const o = r.runs['ours'] ?? []
  const l = r.runs['lua'] ?? []
  /** @typedef {Awaited<ReturnType<typeof measure>>} Run */
  /** @param {(run: Run) => number} metric @param {(v: number) => string} fmt @param {boolean} [ratio] */
  const row = (metric, fmt, ratio = true) => [
    fmtSpread(overRounds(o, metric), fmt),
    fmtSpread(overRounds(l, metric), fmt),
    ratio ? fmtSpread(pairedRatio(o, l, metric), fmtTimes) : '',
  ]
  return {
    id: 'core-hit',
    title: 'In-process hit lookup (TtsService.get on a cached phrase)',
    description:
      `Sequential \`service.get({text})\` calls over 20 cached phrases (each call validates and normalises the text, ` +
      `hashes the key, looks it up in the memory index and stats its file), each call in its own turn of the event loop on both sides, ` +
      `as calls from separate connections are (the store shares a stat only between the lookups of one turn; the turns between calls are not timed). ` +
      `The baseline is the Lua script's hit path: ` +
      `md5(text) and a file-existence check (a stat system call) on every request. ${o.length} interleaved rounds of ${fmtInt(n)} calls per side ` +
      `(ours, Lua; then Lua, ours; …) after one unmeasured JIT warm-up of ${fmtInt(warmUp)} calls each; a cell is the median over the rounds ` +
      `(min–max in brackets), a ratio the median (min–max) of the per-round ratios.`,
    tables: [
      {
        caption: roundsCaption({ rounds: o.length, perRound: `${fmtInt(n)} calls`, loadBefore: r.loadBefore, loadAfter: r.loadAfter }),
        headers: ['metric', 'ours: median (min–max)', 'Lua hit path (md5 + stat): median (min–max)', 'ours / Lua: median (min–max) of per-round ratios'],
        rows: [
          ['p50', ...row((x) => x.latency.p50, fmtMs)],
          ['p99', ...row((x) => x.latency.p99, fmtMs)],
          ['max', ...row((x) => x.latency.max, fmtMs, false)],
          ['lookups/s (one caller)', ...row((x) => x.perSecond, fmtInt)],
        ],
      },
    ],
    method: {
      rounds: `${o.length} interleaved rounds (ours, Lua; order alternating), after one unmeasured JIT warm-up per side`,
      perRound: `${fmtInt(n)} sequential calls per side, each in its own event-loop turn`,
      paired: 'round i of ours with round i of Lua (back to back)',
      reported: 'median of the per-round p50, p99 and lookups/s ratios',
      spread: 'min–max of the per-round ratios',
    },
    notes: loggedProblems(ours),
    raw: { ours: o, lua: l, n, rounds: o.length, loadBefore: r.loadBefore, loadAfter: r.loadAfter },
  }
}
