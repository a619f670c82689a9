// @ts-check
/**
 * In-process hit lookup: TtsService.get for a cached phrase (validate, normalise, key,
 * memory index), one call at a time, vs the Lua script's hit path (md5(text) + a file
 * existence check — what it does before every playback).
 */
import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { loggedProblems } from '../lib/ours.js'
import { fmtInt, fmtMs, fmtRatio, summarize } from '../lib/stats.js'
import { newRunId, sentences } from '../lib/workload.js'

/**
 * Runs `fn` `n` times one after the other; per-call latency and overall rate.
 * @param {number} n
 * @param {() => Promise<unknown> | unknown} fn
 */
async function measure(n, fn) {
  const samples = new Float64Array(n)
  const started = performance.now()
  for (let i = 0; i < n; i++) {
    const t = performance.now()
    await fn()
    samples[i] = performance.now() - t
  }
  const seconds = (performance.now() - started) / 1000
  return { latency: summarize(samples), perSecond: n / seconds }
}

/**
 * @param {import('./context.js').ScenarioContext} ctx
 * @returns {Promise<import('../lib/report.js').Section>}
 */
export async function coreHit(ctx) {
  const n = ctx.quick ? 2_000 : 200_000
  const phrases = sentences(newRunId(), 20)
  const ours = await ctx.startOurs({ workDir: path.join(ctx.workDir, 'ours'), engine: 'espeak-ng' })
  let oursResult
  try {
    for (const text of phrases) await ours.get(text)
    const service = ours.service
    let i = 0
    // Warm-up (JIT) outside the measurement.
    await measure(Math.min(n, 20_000), () => service.get({ text: phrases[i++ % phrases.length] }, { source: 'esl' }))
    i = 0
    ctx.progress(`ours: ${n} hit lookups`)
    oursResult = await measure(n, () => service.get({ text: phrases[i++ % phrases.length] }, { source: 'esl' }))
  } finally {
    await ours.close()
  }

  // The Lua hit path: md5 the text, check the file exists.
  const luaDir = path.join(ctx.workDir, 'lua')
  mkdirSync(luaDir, { recursive: true })
  const luaPath = (/** @type {string} */ text) => path.join(luaDir, `${createHash('md5').update(text, 'utf8').digest('hex')}.wav`)
  for (const text of phrases) writeFileSync(luaPath(text), 'RIFF')
  let j = 0
  await measure(Math.min(n, 20_000), () => existsSync(luaPath(/** @type {string} */ (phrases[j++ % phrases.length]))))
  j = 0
  ctx.progress(`Lua: ${n} hit lookups`)
  const luaResult = await measure(n, () => existsSync(luaPath(/** @type {string} */ (phrases[j++ % phrases.length]))))

  return {
    id: 'core-hit',
    title: 'In-process hit lookup (TtsService.get on a cached phrase)',
    description:
      `${fmtInt(n)} sequential \`service.get({text})\` calls over 20 cached phrases (each call validates and normalises the text, ` +
      `hashes the key and looks it up in the memory index; no disk access). The baseline is the Lua script's hit path: ` +
      `md5(text) and a file-existence check (a stat system call) on every request.`,
    tables: [
      {
        headers: ['metric', 'ours', 'Lua hit path (md5 + stat)', 'ours / Lua'],
        rows: [
          ['p50', fmtMs(oursResult.latency.p50), fmtMs(luaResult.latency.p50), fmtRatio(oursResult.latency.p50, luaResult.latency.p50)],
          ['p99', fmtMs(oursResult.latency.p99), fmtMs(luaResult.latency.p99), fmtRatio(oursResult.latency.p99, luaResult.latency.p99)],
          ['max', fmtMs(oursResult.latency.max), fmtMs(luaResult.latency.max), ''],
          ['lookups/s (one caller)', fmtInt(oursResult.perSecond), fmtInt(luaResult.perSecond), fmtRatio(oursResult.perSecond, luaResult.perSecond)],
        ],
      },
    ],
    notes: loggedProblems(ours),
    raw: { ours: oursResult, lua: luaResult, n },
  }
}
