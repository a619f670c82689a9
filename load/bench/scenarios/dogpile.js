// @ts-check
/**
 * 1,000 concurrent identical misses (in process): how many renders (must be 1), and what the
 * waiters pay over the render itself. The render's own time is the engine run as timed around
 * the renderer (engine + sox + checks); the caller that started it ("leader", status
 * rendered) adds the claim and the commit; every other caller joined it (coalesced).
 */
import path from 'node:path'
import { loggedProblems } from '../lib/ours.js'
import { fmtInt, fmtMs, summarize } from '../lib/stats.js'
import { newRunId, sentence } from '../lib/workload.js'

/**
 * @param {import('./context.js').ScenarioContext} ctx
 * @returns {Promise<import('../lib/report.js').Section>}
 */
export async function dogpile(ctx) {
  const n = ctx.quick ? 20 : 1000
  const rounds = ctx.quick ? 1 : 3
  const runId = newRunId()
  const ours = await ctx.startOurs({ workDir: path.join(ctx.workDir, 'ours'), engine: 'espeak-ng' })
  /** @type {{ renders: number, statuses: Record<string, number>, errors: number, renderMs: number, leaderMs: number, overRender: ReturnType<typeof summarize>, extra: ReturnType<typeof summarize>, all: ReturnType<typeof summarize> }[]} */
  const results = []
  try {
    for (let round = 0; round < rounds && !ctx.signal.aborted; round++) {
      const text = sentence(runId, round)
      const before = ours.renders()
      const timedBefore = ours.renderMs().length
      ctx.progress(`${n} concurrent identical misses, round ${round + 1}/${rounds}`)
      const started = performance.now()
      const outcomes = await Promise.all(
        Array.from({ length: n }, () =>
          ours.service.get({ text }, { source: 'esl' }).then(
            (/** @type {{ status: string }} */ r) => ({ ms: performance.now() - started, status: r.status }),
            (/** @type {unknown} */ err) => ({ ms: performance.now() - started, status: 'error', err }),
          ),
        ),
      )
      /** @type {Record<string, number>} */
      const statuses = {}
      for (const o of outcomes) statuses[o.status] = (statuses[o.status] ?? 0) + 1
      const leader = outcomes.find((o) => o.status === 'rendered')
      const leaderMs = leader?.ms ?? Number.NaN
      const waiters = outcomes.filter((o) => o !== leader && o.status !== 'error')
      const renderMs = ours.renderMs().slice(timedBefore).reduce((a, b) => a + b, 0)
      results.push({
        renders: ours.renders() - before,
        statuses,
        errors: statuses['error'] ?? 0,
        renderMs,
        leaderMs,
        overRender: summarize(waiters.map((o) => o.ms - renderMs)),
        extra: summarize(waiters.map((o) => o.ms - leaderMs)),
        all: summarize(outcomes.map((o) => o.ms)),
      })
      await ctx.settle()
    }
  } finally {
    await ours.close()
  }
  const rendersOk = results.length > 0 && results.every((r) => r.renders === 1 && r.errors === 0)
  const worst = results.reduce((a, r) => (r.extra.p99 > a ? r.extra.p99 : a), 0)
  const worstOverRender = results.reduce((a, r) => (r.overRender.p99 > a ? r.overRender.p99 : a), 0)
  return {
    id: 'dogpile',
    title: `${fmtInt(n)} concurrent identical misses (in process, espeak-ng)`,
    description:
      `${fmtInt(n)} \`service.get\` calls for one new sentence started in the same tick, ${rounds} rounds (a new sentence each). ` +
      `The Lua script would start one engine per caller here (see the cold bursts: 100 callers → 100 renders); it is not run ` +
      `at 1,000 because that is 1,000 engine processes at once on this box.`,
    tables: [
      {
        headers: [
          'round',
          'renders',
          'answers: rendered / coalesced / hit / error',
          'the render itself (engine + sox)',
          'leader (+ claim, commit)',
          'waiters over the render: p50',
          'p99',
          'waiters over the leader: p50',
          'p99',
        ],
        rows: results.map((r, i) => [
          String(i + 1),
          fmtInt(r.renders),
          `${r.statuses['rendered'] ?? 0} / ${r.statuses['coalesced'] ?? 0} / ${r.statuses['hit'] ?? 0} / ${r.errors}`,
          fmtMs(r.renderMs),
          fmtMs(r.leaderMs),
          fmtMs(r.overRender.p50),
          fmtMs(r.overRender.p99),
          fmtMs(r.extra.p50),
          fmtMs(r.extra.p99),
        ]),
      },
    ],
    goals: [
      {
        name: `renders for ${fmtInt(n)} identical concurrent misses`,
        target: '= 1',
        value: results.map((r) => String(r.renders)).join(', '),
        met: rendersOk,
        why: 'more than one engine run (or an error) for one key: single-flight or the render lock let a second render through.',
      },
    ],
    notes: [
      ...loggedProblems(ours),
      `Worst p99 over the rounds: waiters see ${fmtMs(worstOverRender)} more than the render itself (lock, temp file, fsync, rename, sidecar, index — paid once, by everyone) and ${fmtMs(worst)} more than the leader (waking ${fmtInt(n - 1)} promises).`,
    ],
    raw: { n, results },
  }
}
