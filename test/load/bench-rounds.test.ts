/**
 * The pure pieces of the bench's method (issue 19): interleaved rounds, paired per-round ratios
 * as a median with their spread, the method section of RESULTS.md, and how a difference in
 * milliseconds is written; the scenario order and the shared 100k-tree helper. No timing
 * assertions; the targets here are counters. The registry and ensureBigCache import dist/
 * (`npm run build` first, as `npm test` does).
 */
import { existsSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'

const ROOT = new URL('../../', import.meta.url)
const bench = (file: string): string => new URL(`load/bench/${file}`, ROOT).href

type Spread = { n: number; median: number; min: number; max: number }
interface RoundsModule {
  MIN_ROUNDS: number
  roundOrder(names: string[], round: number): string[]
  interleaved<T>(
    targets: Record<string, (round: number) => Promise<T>>,
    options: { rounds: number; signal?: AbortSignal; settle?: () => Promise<void> },
  ): Promise<{ runs: Record<string, T[]>; orders: string[][]; loadBefore: number; loadAfter: number }>
  pairedRatio<T>(a: T[], b: T[], metric: (r: T) => number): Spread
  overRounds<T>(runs: T[], metric: (r: T) => number): Spread
  roundsCaption(r: { rounds: number; perRound: string; loadBefore: number; loadAfter: number }): string
}
const rounds = async (): Promise<RoundsModule> => (await import(bench('lib/rounds.js'))) as RoundsModule

describe('interleaved rounds (load/bench/lib/rounds.js)', () => {
  it('runs every target once per round, the order rotating, and records the load average', async () => {
    const { interleaved, roundOrder } = await rounds()
    expect(roundOrder(['ours', 'lua'], 0)).toEqual(['ours', 'lua'])
    expect(roundOrder(['ours', 'lua'], 1)).toEqual(['lua', 'ours'])
    expect(roundOrder(['a', 'b', 'c'], 2)).toEqual(['c', 'a', 'b'])
    const calls: string[] = []
    let settles = 0
    const r = await interleaved(
      { ours: async (round) => (calls.push(`ours${round}`), round * 10), lua: async (round) => (calls.push(`lua${round}`), round) },
      { rounds: 5, settle: async () => void settles++ },
    )
    expect(calls).toEqual(['ours0', 'lua0', 'lua1', 'ours1', 'ours2', 'lua2', 'lua3', 'ours3', 'ours4', 'lua4'])
    expect(r.runs).toEqual({ ours: [0, 10, 20, 30, 40], lua: [0, 1, 2, 3, 4] })
    expect(r.orders).toHaveLength(5)
    expect(settles).toBe(10)
    expect(Number.isFinite(r.loadBefore) && Number.isFinite(r.loadAfter)).toBe(true)
  })

  it('drops a round the signal interrupts, so both sides keep the same rounds', async () => {
    const { interleaved } = await rounds()
    const stop = new AbortController()
    const r = await interleaved(
      {
        ours: async (round) => round,
        lua: async (round) => {
          if (round === 2) stop.abort()
          return round
        },
      },
      { rounds: 5, signal: stop.signal },
    )
    // Round 2 ran ours then lua (which aborted): complete, kept. Round 3 never starts.
    expect(r.runs).toEqual({ ours: [0, 1, 2], lua: [0, 1, 2] })
    const stop2 = new AbortController()
    const r2 = await interleaved(
      {
        ours: async (round) => {
          if (round === 2) stop2.abort()
          return round
        },
        lua: async (round) => round,
      },
      { rounds: 5, signal: stop2.signal },
    )
    // Round 2 runs ours first, which aborts: lua never runs in it, so ours' round 2 is dropped too.
    expect(r2.runs).toEqual({ ours: [0, 1], lua: [0, 1] })
    expect(r2.orders).toEqual([['ours', 'lua'], ['lua', 'ours']])
  })

  it('takes the median (min–max) of the per-round ratios, never the best or worst round', async () => {
    const { pairedRatio, overRounds, roundsCaption, MIN_ROUNDS } = await rounds()
    const ours = [{ ms: 10 }, { ms: 30 }, { ms: 12 }, { ms: 9 }, { ms: 50 }]
    const base = [{ ms: 10 }, { ms: 10 }, { ms: 10 }, { ms: 10 }, { ms: 10 }]
    expect(pairedRatio(ours, base, (r) => r.ms)).toEqual({ n: 5, median: 1.2, min: 0.9, max: 5 })
    expect(overRounds(ours, (r) => r.ms)).toEqual({ n: 5, median: 12, min: 9, max: 50 })
    // Pairs stay pairs: the ratio of medians (12 / 10) is not what is reported when rounds differ.
    expect(pairedRatio([{ ms: 2 }, { ms: 20 }, { ms: 4 }], [{ ms: 1 }, { ms: 40 }, { ms: 1 }], (r) => r.ms).median).toBe(2)
    // A zero or missing baseline round is left out, and n says so.
    expect(pairedRatio([{ ms: 1 }, { ms: 2 }, { ms: 3 }], [{ ms: 0 }, { ms: 1 }], (r) => r.ms)).toEqual({ n: 1, median: 2, min: 2, max: 2 })
    expect(MIN_ROUNDS).toBe(5)
    expect(roundsCaption({ rounds: 5, perRound: '1 s', loadBefore: 1.5, loadAfter: 2 })).toContain('load average (1 min) 1.50 before, 2.00 after')
    expect(roundsCaption({ rounds: 3, perRound: '1 s', loadBefore: 1, loadAfter: 1 })).toContain('fewer than 5 rounds')
  })
})

describe('the method section and differences', () => {
  it('writes, per scenario, how its ratios are taken and the load average at its start and end', async () => {
    const { methodMarkdown, sectionMarkdown } = (await import(bench('lib/report.js'))) as {
      methodMarkdown(sections: object[], defaults: (id: string) => object | undefined): string
      sectionMarkdown(section: object): string
    }
    const method = { rounds: '5 interleaved', perRound: '10 s', paired: 'round i with round i', reported: 'median of ratios', spread: 'min–max' }
    const md = methodMarkdown(
      [
        { id: 'a', title: 'A', tables: [], load: { start: 1.234, end: 2.5 } },
        { id: 'b', title: 'B', tables: [], method: { ...method, rounds: '7 interleaved' }, load: { start: 3, end: 4 } },
        { id: 'c', title: 'C', tables: [] },
      ],
      (id) => (id === 'c' ? undefined : method),
    )
    expect(md).toContain('| a | 5 interleaved | 10 s | round i with round i | median of ratios | min–max | 1.23 → 2.50 |')
    expect(md).toContain('| b | 7 interleaved |')
    expect(md).toContain('| c | — | — | — | — | — | not run |')
    expect(sectionMarkdown({ id: 'a', title: 'A', tables: [], seconds: 12, load: { start: 1, end: 2 } })).toContain(
      'scenario wall time 12.0 s; load average (1 min) 1.00 at its start, 2.00 at its end',
    )
  })

  it('writes a negative difference in milliseconds as one (not as thousands of negative µs) and says which side is faster', async () => {
    const { fmtMs } = (await import(bench('lib/stats.js'))) as { fmtMs(ms: number): string }
    expect(fmtMs(-5)).toBe('-5.00 ms')
    expect(fmtMs(-0.25)).toBe('-250.0 µs')
    expect(fmtMs(-1500)).toBe('-1.50 s')
    const { overheadWords } = (await import(bench('scenarios/cold-miss.js'))) as { overheadWords(deltaMs: number, baseline: string): string }
    expect(overheadWords(3.2, 'the pipe')).toBe('adds 3.20 ms over the pipe')
    expect(overheadWords(-12.5, 'the engine, then sox')).toBe('is 12.5 ms faster than the engine, then sox')
  })
})

describe('the scenario registry and the big cache tree', () => {
  it('runs startup (which makes the 100k tree) before mixed and soak, and has a method for every scenario', async () => {
    const { SCENARIOS, defaultMethod, BIG_CACHE_DIR } = (await import(bench('scenarios/index.js'))) as {
      SCENARIOS: { id: string; budgetS: number; minBudgetS: number; estimateS: number }[]
      defaultMethod(id: string): Record<string, string> | undefined
      BIG_CACHE_DIR: string
    }
    const ids = SCENARIOS.map((s) => s.id)
    expect(ids.indexOf('startup')).toBeGreaterThanOrEqual(0)
    expect(ids.indexOf('startup')).toBeLessThan(ids.indexOf('mixed'))
    expect(ids.indexOf('startup')).toBeLessThan(ids.indexOf('soak'))
    for (const s of SCENARIOS) {
      expect(Object.keys(defaultMethod(s.id) ?? {}).sort(), s.id).toEqual(['paired', 'perRound', 'reported', 'rounds', 'spread'])
      expect(s.minBudgetS <= s.budgetS && s.estimateS <= s.budgetS, s.id).toBe(true)
    }
    // The estimates fit the run's 2,700 s budget.
    expect(SCENARIOS.reduce((a, s) => a + s.estimateS, 0)).toBeLessThan(2700)
    const { BIG_CACHE_DIR: fromLib } = (await import(bench('lib/big-cache.js'))) as { BIG_CACHE_DIR: string }
    expect(BIG_CACHE_DIR).toBe(fromLib)
  })

  it('ensureBigCache generates the tree once, reuses it, and stops when its signal is aborted', async () => {
    const { ensureBigCache } = (await import(bench('lib/big-cache.js'))) as {
      ensureBigCache(dir: string, signal?: AbortSignal, options?: { entries?: number }): Promise<{ dir: string; entries: number; reused: boolean; command: string }>
    }
    const root = await mkdtemp(join(tmpdir(), 'tts-bench-big-'))
    try {
      const dir = join(root, 'tree')
      const made = await ensureBigCache(dir, undefined, { entries: 20 })
      expect(made).toMatchObject({ entries: 20, reused: false })
      expect(made.command).toContain('--entries 20')
      expect(existsSync(join(dir, '.gen-cache-dir.json'))).toBe(true)
      expect((await ensureBigCache(dir, undefined, { entries: 20 })).reused).toBe(true)
      await expect(ensureBigCache(join(root, 'other'), AbortSignal.abort(), { entries: 20 })).rejects.toThrow()
      expect(existsSync(join(root, 'other', '.gen-cache-dir.json'))).toBe(false)
    } finally {
      await rm(root, { recursive: true, force: true })
    }
  }, 60_000)
})
