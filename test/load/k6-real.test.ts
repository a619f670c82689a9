/**
 * The bench runs a real k6 when one is found (K6_BIN, or `k6` on PATH) and the Node stand-in
 * otherwise. These hold the three pieces that decide what the `mixed` section says, with real
 * files and processes and no timing: the reader of k6's `--summary-export` file (on a fixture
 * written to k6 v1.x's documented legacy export format, thresholds `true` = failed), the lookup,
 * and the run itself — a fake k6 (a shell script in a temp dir that prints a version, records
 * its argv and writes the fixture where --summary-export says) driven through the real scenario
 * against a real `serve`. The bench imports dist/, so this needs `npm run build` first.
 */
import { chmodSync, existsSync } from 'node:fs'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

const ROOT = new URL('../../', import.meta.url)
const bench = (file: string): string => new URL(`load/bench/${file}`, ROOT).href
const FIXTURE = new URL('fixtures/k6-summary-export-mixed.json', import.meta.url)

interface K6Summary {
  metrics: Record<string, Record<string, number>>
  thresholds: { metric: string; expression: string; passed: boolean }[]
}
interface SummaryModule {
  parseK6Summary(text: string): K6Summary
  thresholdPassed(s: K6Summary, metric: string, which?: (e: string) => boolean): boolean | undefined
  mixedFigures(s: K6Summary): {
    failedRate: number
    requests: number
    failedRequests: number
    checksRate: number
    checks: number
    hit: { p95: number; p99: number }
    miss: { p95: number; p99: number }
    hitRate: number
    answered: number
    counts: { hit: number; rendered: number; coalesced: number; missing: number }
    droppedIterations: number
  }
}
type K6Lookup = { found: true; bin: string; version: string } | { found: false; reason: string }
interface RealModule {
  findK6(env?: NodeJS.ProcessEnv): Promise<K6Lookup>
  k6MixedArgs(o: { summaryFile: string; baseUrl: string; token: string; env?: Record<string, string | number> }): string[]
  execK6(bin: string, argv: string[], o: { timeoutMs: number }): Promise<{ exitCode: number | null; signal: string | null; error?: string }>
}
interface Goal {
  name: string
  value: string
  met: boolean | undefined
}
interface Section {
  title: string
  description: string
  tables: { rows: string[][] }[]
  goals: Goal[]
  raw: { client: string; k6: { argv: string[]; exitCode: number }; setupS?: number; memory: { phase: string; rss: number }[] }
}

const summaryModule = async (): Promise<SummaryModule> => (await import(bench('lib/k6-summary.js'))) as SummaryModule
const realModule = async (): Promise<RealModule> => (await import(bench('lib/k6-real.js'))) as RealModule

/** A fake k6: `version` prints one; `run` records its argv (one per line) and writes the fixture to the --summary-export path, then exits 99 as k6 does when a threshold fails. */
const FAKE_K6 = `#!/bin/sh
dir=$(dirname "$0")
if [ "$1" = version ]; then echo "k6 v1.3.0 (commit/fake000000, go1.23.4, linux/amd64)"; exit 0; fi
: > "$dir/argv.txt"
out=
prev=
for a in "$@"; do
  printf '%s\\n' "$a" >> "$dir/argv.txt"
  if [ "$prev" = --summary-export ]; then out=$a; fi
  prev=$a
done
echo 'time="2026-12-07T02:00:00Z" level=info msg="pre-warmed the top 30: 30 cached (30 rendered now), 0 failed" source=console' >&2
cp "$dir/summary.json" "$out"
exit 99
`

let dir: string
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'k6-real-'))
  await writeFile(join(dir, 'k6'), FAKE_K6)
  chmodSync(join(dir, 'k6'), 0o755)
  await writeFile(join(dir, 'summary.json'), await readFile(FIXTURE, 'utf8'))
})
afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

describe("k6's --summary-export file", () => {
  it("reads mixed.ts's metrics and k6's verdicts (true in the export = the threshold failed)", async () => {
    const { parseK6Summary, mixedFigures, thresholdPassed } = await summaryModule()
    const summary = parseK6Summary(await readFile(FIXTURE, 'utf8'))
    const f = mixedFigures(summary)
    expect(f.hit).toMatchObject({ p95: 5.1, p99: 21.7 })
    expect(f.miss).toMatchObject({ p95: 404, p99: 917 })
    expect(f).toMatchObject({ failedRate: 0, requests: 11970, failedRequests: 0, checksRate: 1, checks: 23936, answered: 11968, droppedIterations: 32 })
    expect(f.hitRate).toBeCloseTo(0.9444, 4)
    // tts_cache_header_missing was never incremented: k6 leaves it out, which is a count of 0.
    expect(f.counts).toEqual({ hit: 11302, rendered: 625, coalesced: 41, missing: 0 })
    expect(summary.thresholds).toHaveLength(8)
    expect(summary.thresholds.every((t) => t.passed)).toBe(true)
    expect(thresholdPassed(summary, 'tts_hit_duration', (e) => e.startsWith('p(99)'))).toBe(true)
    expect(thresholdPassed(summary, 'tts_cache_header_missing')).toBeUndefined()
  })

  it('reports a failed threshold as failed, and only that one', async () => {
    const { parseK6Summary, thresholdPassed } = await summaryModule()
    const data = JSON.parse(await readFile(FIXTURE, 'utf8')) as { metrics: Record<string, { thresholds?: Record<string, boolean> }> }
    const hit = data.metrics.tts_hit_duration?.thresholds
    if (hit === undefined) throw new Error('fixture without tts_hit_duration thresholds')
    hit['p(99)<100'] = true
    const summary = parseK6Summary(JSON.stringify(data))
    expect(thresholdPassed(summary, 'tts_hit_duration', (e) => e.startsWith('p(99)'))).toBe(false)
    expect(thresholdPassed(summary, 'tts_hit_duration', (e) => e.startsWith('p(95)'))).toBe(true)
    expect(thresholdPassed(summary, 'tts_hit_duration')).toBe(false)
    expect(summary.thresholds.filter((t) => !t.passed)).toEqual([{ metric: 'tts_hit_duration', expression: 'p(99)<100', passed: false }])
  })

  it('refuses a file that is not a summary export', async () => {
    const { parseK6Summary } = await summaryModule()
    expect(() => parseK6Summary('{"type":"Point","metric":"vus"}')).toThrow(/metrics/)
    expect(() => parseK6Summary('{"metrics":{"checks":{"thresholds":{"rate>0.99":"no"}}}}')).toThrow(/boolean/)
  })
})

describe('finding k6', () => {
  it('falls back to the stand-in when K6_BIN names a missing file, and says so', async () => {
    const { findK6 } = await realModule()
    const found = await findK6({ K6_BIN: join(dir, 'no-such-k6'), PATH: dir })
    // A wrong K6_BIN is not replaced by the k6 on PATH.
    expect(found).toEqual({ found: false, reason: `K6_BIN=${join(dir, 'no-such-k6')} is not an executable file` })
  })

  it('falls back when K6_BIN is unset and PATH has no k6', async () => {
    const { findK6 } = await realModule()
    const found = await findK6({ PATH: join(dir, 'empty') })
    expect(found.found).toBe(false)
  })

  it('takes K6_BIN, or the k6 on PATH, and its version', async () => {
    const { findK6 } = await realModule()
    const bin = join(dir, 'k6')
    expect(await findK6({ K6_BIN: bin })).toEqual({ found: true, bin, version: 'v1.3.0' })
    expect(await findK6({ PATH: `${join(dir, 'empty')}:${dir}` })).toEqual({ found: true, bin, version: 'v1.3.0' })
  })

  it('runs k6 with an argv array, no shell: shell syntax in a value arrives verbatim and runs nothing', async () => {
    const { k6MixedArgs, execK6 } = await realModule()
    const marker = join(dir, 'pwned')
    const token = `tok en;touch ${marker} $(touch ${marker})`
    const summaryFile = join(dir, 'out.json')
    const argv = k6MixedArgs({ summaryFile, baseUrl: 'http://127.0.0.1:1', token, env: { RATE: 20, DURATION: '5s' } })
    const script = new URL('load/k6/mixed.ts', ROOT).pathname
    expect(argv).toEqual(['run', '--no-usage-report', '--summary-export', summaryFile, '-e', 'BASE_URL=http://127.0.0.1:1', '-e', `TTS_API_TOKEN=${token}`, '-e', 'RATE=20', '-e', 'DURATION=5s', script])
    const ran = await execK6(join(dir, 'k6'), argv, { timeoutMs: 30_000 })
    expect(ran).toMatchObject({ exitCode: 99, signal: null })
    expect(ran.error).toBeUndefined()
    expect((await readFile(join(dir, 'argv.txt'), 'utf8')).split('\n').slice(0, -1)).toEqual(argv)
    expect(existsSync(marker)).toBe(false)
    expect(existsSync(summaryFile)).toBe(true)
  })
})

describe('the mixed scenario with a k6 found', () => {
  beforeAll(() => {
    if (!existsSync(new URL('dist/cli/main.js', ROOT))) throw new Error('dist/ is missing: run `npm run build` first (npm test does)')
  })

  it("runs it against serve instead of the stand-in and reports k6's verdicts, naming k6 and its version", async () => {
    const { scenarioContext } = (await import(bench('scenarios/context.js'))) as {
      scenarioContext(o: { workDir: string; quick: boolean; signal: AbortSignal; progress: (m: string) => void }): unknown
    }
    const { mixed } = (await import(bench('scenarios/mixed.js'))) as { mixed(ctx: unknown): Promise<Section> }
    const previous = process.env.K6_BIN
    process.env.K6_BIN = join(dir, 'k6')
    try {
      const ctx = scenarioContext({ workDir: join(dir, 'work'), quick: true, signal: AbortSignal.timeout(120_000), progress: () => undefined })
      const section = await mixed(ctx)
      expect(section.title).toBe('k6 mixed.ts thresholds (k6 v1.3.0)')
      expect(section.raw.client).toBe('k6')
      expect(section.raw.k6.exitCode).toBe(99)
      // The quick run's sizes go to k6 as -e overrides; the service is the serve it started.
      const argv = section.raw.k6.argv
      expect(argv.slice(0, 3)).toEqual(['run', '--no-usage-report', '--summary-export'])
      expect(argv).toContain('RATE=20')
      expect(argv).toContain('DURATION=5s')
      expect(argv).toContain('PREWARM_TOP=30')
      expect(argv.find((a) => a.startsWith('BASE_URL='))).toMatch(/^BASE_URL=http:\/\/127\.0\.0\.1:\d+$/)
      expect(argv.at(-1)).toMatch(/load\/k6\/mixed\.ts$/)
      const goal = (name: string): Goal | undefined => section.goals.find((g) => g.name === name)
      expect(goal('k6 mixed: tts_hit_duration p95')).toMatchObject({ value: '5.10 ms', met: true })
      expect(goal('k6 mixed: tts_miss_duration p99')).toMatchObject({ met: true })
      expect(goal('k6 mixed: tts_cache_header_missing')).toMatchObject({ value: '0', met: true })
      expect(section.tables[0]?.rows[0]?.[1]).toContain('k6 v1.3.0')
      // k6's setup and load told apart by the line its setup() logs: the sample after k6 is 'load'.
      expect(section.raw.setupS).toBeGreaterThanOrEqual(0)
      expect(section.raw.memory.at(-1)?.phase).toBe('load')
      expect(section.raw.memory[0]?.phase).toBe('start')
      // The RSS row is still there, sampled from the serve k6 ran against.
      expect(section.goals.some((g) => g.name.startsWith('k6 mixed: service RSS') && /max \d/.test(g.value))).toBe(true)
    } finally {
      if (previous === undefined) delete process.env.K6_BIN
      else process.env.K6_BIN = previous
    }
  }, 120_000)

  it('reports the threshold k6 failed as missed and profiles the service under a second k6 run', async () => {
    const { scenarioContext } = (await import(bench('scenarios/context.js'))) as {
      scenarioContext(o: { workDir: string; quick: boolean; signal: AbortSignal; progress: (m: string) => void }): unknown
    }
    const { mixed, profileRealK6 } = (await import(bench('scenarios/mixed.js'))) as {
      mixed(ctx: unknown): Promise<Section>
      profileRealK6(ctx: unknown, s: unknown, k6: { bin: string; version: string }): Promise<string[]>
    }
    const { mixedSettings } = (await import(bench('lib/k6-mixed-settings.js'))) as { mixedSettings(): unknown }
    const data = JSON.parse(await readFile(FIXTURE, 'utf8')) as { metrics: Record<string, { thresholds?: Record<string, boolean> }> }
    const miss = data.metrics.tts_miss_duration?.thresholds
    if (miss === undefined) throw new Error('fixture without tts_miss_duration thresholds')
    miss['p(99)<6000'] = true
    await writeFile(join(dir, 'summary.json'), JSON.stringify(data))
    const previous = process.env.K6_BIN
    process.env.K6_BIN = join(dir, 'k6')
    try {
      const ctx = scenarioContext({ workDir: join(dir, 'work-missed'), quick: true, signal: AbortSignal.timeout(120_000), progress: () => undefined })
      const section = await mixed(ctx)
      const missed = section.goals.filter((g) => g.met === false).map((g) => g.name)
      expect(missed).toEqual(['k6 mixed: tts_miss_duration p99'])
      expect(section.tables[1]?.rows).toContainEqual(['tts_miss_duration', 'p(99)<6000', 'FAILED'])
      // A full run follows a miss with this (a quick run does not: it would copy the 100k tree).
      const profiles = await profileRealK6(ctx, mixedSettings(), { bin: join(dir, 'k6'), version: 'v1.3.0' })
      expect(profiles).toHaveLength(1)
      expect(profiles[0]).not.toMatch(/^\(no CPU profile/)
      expect(existsSync(join(dir, 'work-missed', 'cpu-prof'))).toBe(true)
    } finally {
      if (previous === undefined) delete process.env.K6_BIN
      else process.env.K6_BIN = previous
      await writeFile(join(dir, 'summary.json'), await readFile(FIXTURE, 'utf8'))
    }
  }, 120_000)

  it('runs the Node stand-in when K6_BIN names a missing file, and says why', async () => {
    const { scenarioContext } = (await import(bench('scenarios/context.js'))) as {
      scenarioContext(o: { workDir: string; quick: boolean; signal: AbortSignal; progress: (m: string) => void }): unknown
    }
    const { mixed } = (await import(bench('scenarios/mixed.js'))) as { mixed(ctx: unknown): Promise<Section> }
    const previous = process.env.K6_BIN
    const missing = join(dir, 'no-such-k6')
    process.env.K6_BIN = missing
    try {
      const ctx = scenarioContext({ workDir: join(dir, 'work-stand-in'), quick: true, signal: AbortSignal.timeout(180_000), progress: () => undefined })
      const section = await mixed(ctx)
      expect(section.title).toBe('k6 mixed.ts thresholds (Node stand-in)')
      expect(section.tables[0]?.rows[0]).toEqual(['load client', `Node stand-in (no k6: K6_BIN=${missing} is not an executable file)`])
      expect(section.description).toContain(`No k6 was found (K6_BIN=${missing} is not an executable file`)
      expect(section.goals.map((g) => g.name)).toContain('k6 mixed: tts_hit_duration p95')
    } finally {
      if (previous === undefined) delete process.env.K6_BIN
      else process.env.K6_BIN = previous
    }
  }, 240_000)
})
