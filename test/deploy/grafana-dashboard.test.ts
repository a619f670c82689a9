/**
 * deploy/grafana/tts-cache-dashboard.json: valid JSON a Grafana import accepts (a Prometheus
 * datasource input, unique panel ids), the panels an operator asked for (hit ratio, render
 * latency, queue depth, fallbacks, ESL calls), and every metric name in its queries exposed by a
 * real `tts-cache serve` after a render and a hit (a renamed metric breaks this test, not a
 * dashboard in production).
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { isExposed, liveMetrics, ROOT, type LiveMetrics } from '../harness/deploy/live-metrics.js'

interface Target {
  readonly expr?: string
}
interface Panel {
  readonly id: number
  readonly type: string
  readonly title: string
  readonly targets?: readonly Target[]
}
interface Dashboard {
  readonly uid: string
  readonly title: string
  readonly panels: readonly Panel[]
  readonly __inputs: readonly { name: string; pluginId: string }[]
  readonly templating: { list: readonly { name: string; query?: { query?: string } }[] }
}

const DASHBOARD = JSON.parse(readFileSync(join(ROOT, 'deploy/grafana/tts-cache-dashboard.json'), 'utf8')) as Dashboard
const FUNCTIONS = new Set(['sum', 'max', 'min', 'avg', 'rate', 'increase', 'histogram_quantile', 'by', 'without', 'label_values'])

/** The metric names a PromQL text reads: identifiers followed by a label selector or a range. */
function metricNames(expr: string): string[] {
  return [...expr.matchAll(/\b([a-z_:][a-z0-9_:]*)\s*(?=\{|\[)/g)].map((m) => m[1] ?? '').filter((n) => !FUNCTIONS.has(n))
}

const exprs = DASHBOARD.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr ?? ''))

describe('Grafana dashboard (deploy/grafana)', () => {
  let metrics: LiveMetrics

  beforeAll(async () => {
    metrics = await liveMetrics()
  }, 120_000)

  it('imports as a dashboard: a Prometheus datasource input, unique panel ids, an instance variable', () => {
    expect(DASHBOARD.uid).toBe('tts-cache')
    expect(DASHBOARD.__inputs).toEqual([expect.objectContaining({ name: 'DS_PROMETHEUS', pluginId: 'prometheus' })])
    const ids = DASHBOARD.panels.map((p) => p.id)
    expect(new Set(ids).size).toBe(ids.length)
    expect(DASHBOARD.templating.list.map((v) => v.name)).toEqual(['instance'])
  })

  it.each([
    ['hit ratio', /hit ratio/i, 'tts_requests_total'],
    ['render latency', /render time/i, 'tts_render_duration_seconds_bucket'],
    ['queue depth', /queue depth/i, 'tts_queue_depth'],
    ['fallbacks', /fallbacks/i, 'tts_esl_results_total'],
    ['ESL calls', /ESL calls/i, 'tts_esl_results_total'],
  ])('has a %s panel', (_what, title, metric) => {
    const panel = DASHBOARD.panels.find((p) => title.test(p.title))
    expect(panel, `a panel titled ${String(title)}`).toBeDefined()
    expect((panel?.targets ?? []).some((t) => metricNames(t.expr ?? '').includes(metric))).toBe(true)
  })

  it('every metric name in its queries exists in the live /metrics of a real serve', () => {
    const names = new Set([...exprs, ...DASHBOARD.templating.list.map((v) => v.query?.query ?? '')].flatMap(metricNames))
    const labelValues = DASHBOARD.templating.list.flatMap((v) => [...(v.query?.query ?? '').matchAll(/label_values\((\w+)/g)].map((m) => m[1] ?? ''))
    for (const name of labelValues) names.add(name)
    expect(names.size).toBeGreaterThanOrEqual(15)
    expect([...names].filter((name) => !isExposed(metrics, name))).toEqual([])
  })
})
