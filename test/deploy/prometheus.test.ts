/**
 * The Prometheus side of the ops pack (deploy/prometheus/), checked with Prometheus's own promtool
 * (Debian's `prometheus` package; scripts/bootstrap.sh test extracts it to /usr/local/bin):
 * the alert rules load (`check rules`), every alert fires on its condition and not before its
 * `for:` (`test rules` on tts-cache.rules.test.yml), every metric a rule reads is exposed by a
 * real `tts-cache serve`, and that serve's live /metrics passes `promtool check metrics`.
 * promtool missing: a strict run (CI) fails, elsewhere every test is skipped, saying so.
 */
import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { findTool, isExposed, liveMetrics, requireTool, ROOT, type LiveMetrics } from '../harness/deploy/live-metrics.js'

const DIR = join(ROOT, 'deploy/prometheus')
const RULES = readFileSync(join(DIR, 'tts-cache.rules.yml'), 'utf8')
const RULE_TESTS = readFileSync(join(DIR, 'tts-cache.rules.test.yml'), 'utf8')
const PROMTOOL = findTool('promtool')
const MISSING = 'promtool is not installed (Debian: the `prometheus` package; scripts/bootstrap.sh test extracts promtool from it)'
const SUITE = 'test/deploy/prometheus'

function promtool(args: string[], input?: string): { status: number | null; output: string } {
  const run = spawnSync(PROMTOOL ?? 'promtool', args, { cwd: DIR, input, encoding: 'utf8', timeout: 60_000 })
  return { status: run.status, output: `${run.stdout}${run.stderr}` }
}

/** The metric names a PromQL text reads: identifiers followed by a selector or a range. */
function metricNames(expr: string): string[] {
  const keywords = new Set(['sum', 'max', 'min', 'rate', 'increase', 'changes', 'histogram_quantile', 'by', 'without', 'and', 'or', 'unless', 'on', 'ignoring'])
  return [...expr.matchAll(/\b([a-z_:][a-z0-9_:]*)\s*(?=\{|\[)/g)].map((m) => m[1] ?? '').filter((n) => !keywords.has(n))
}

describe('Prometheus alert rules (deploy/prometheus) with promtool', () => {
  let metrics: LiveMetrics | undefined

  beforeAll(async () => {
    if (PROMTOOL !== undefined) metrics = await liveMetrics()
  }, 120_000)

  it('promtool check rules: the rules file loads', (ctx) => {
    requireTool(ctx, SUITE, PROMTOOL, MISSING)
    const run = promtool(['check', 'rules', 'tts-cache.rules.yml'])
    expect(run.output).toMatch(/SUCCESS: \d+ rules found/)
    expect(run.status).toBe(0)
  })

  it('promtool test rules: every alert fires on its condition, none early or below its threshold', (ctx) => {
    requireTool(ctx, SUITE, PROMTOOL, MISSING)
    const run = promtool(['test', 'rules', 'tts-cache.rules.test.yml'])
    expect(run.output).toContain('SUCCESS')
    expect(run.status).toBe(0)
  })

  it('the unit tests cover every alert, each with a case where it fires', () => {
    const alerts = [...RULES.matchAll(/- alert: (\w+)/g)].map((m) => m[1])
    expect(alerts.length).toBeGreaterThanOrEqual(10)
    for (const alert of alerts) {
      const firing = new RegExp(`alertname: ${alert}\\n\\s+exp_alerts:\\n\\s+- exp_labels:`)
      expect(RULE_TESTS, `${alert} has a firing case in tts-cache.rules.test.yml`).toMatch(firing)
    }
  })

  it('every metric a rule reads is exposed by a real serve (no alert on a name that does not exist)', (ctx) => {
    requireTool(ctx, SUITE, PROMTOOL, MISSING)
    const exprs = [...RULES.matchAll(/expr: (\|\n(?:\s{10}.*\n)+|.*)/g)].map((m) => m[1] ?? '')
    const names = new Set(exprs.flatMap(metricNames))
    names.delete('up') // Prometheus's own, per scrape target
    expect(names.size).toBeGreaterThanOrEqual(10)
    const missing = [...names].filter((name) => metrics === undefined || !isExposed(metrics, name))
    expect(missing).toEqual([])
  })

  it('promtool check metrics passes on the live /metrics of a real serve', (ctx) => {
    requireTool(ctx, SUITE, PROMTOOL, MISSING)
    const text = metrics?.text ?? ''
    expect(text).toMatch(/^tts_build_info\{/m)
    expect(text).toMatch(/^tts_requests_total\{[^}]*result="hit"/m)
    const run = promtool(['check', 'metrics'], text)
    expect(run.output.trim()).toBe('')
    expect(run.status).toBe(0)
  })
})
