/**
 * For the ops pack's checks (test/deploy/): the built `tts-cache serve` (dist/, real espeak-ng
 * and sox, a temp cache dir, ports the system picks), one render and one hit through its HTTP API
 * so the labelled families have samples, then its `/metrics` text. Also where an external tool
 * is and what to do when it is not: strict runs (CI, TTS_TEST_STRICT=1) fail, others skip loudly.
 */
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { delimiter, dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { TestContext } from 'vitest'
import { startServeChild } from '../cli/serve-child.js'
import { strictTestRun } from '../store/tmpfs.js'

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..')

/** The absolute path of `name` on PATH or in the usual system directories; undefined when absent. */
export function findTool(name: string): string | undefined {
  const dirs = [...(process.env['PATH'] ?? '').split(delimiter), '/usr/local/bin', '/usr/bin', '/usr/sbin', '/bin']
  for (const dir of dirs) {
    if (dir === '') continue
    const candidate = join(dir, name)
    if (existsSync(candidate) && spawnSync(candidate, ['--version'], { stdio: 'ignore' }).error === undefined) return candidate
  }
  return undefined
}

const skipsSaid = new Set<string>()

/** Fails a strict run naming what to install; elsewhere skips the test, saying so on stderr once per suite. */
export function requireTool(ctx: TestContext, suite: string, tool: string | undefined, reason: string): asserts tool is string {
  if (tool !== undefined) return
  if (strictTestRun) throw new Error(`${reason} (CI / TTS_TEST_STRICT=1: this suite may not be skipped)`)
  if (!skipsSaid.has(suite)) process.stderr.write(`\n*** ${suite}: SKIPPING: ${reason}; CI is unset, so skipped here (a CI run fails) ***\n\n`)
  skipsSaid.add(suite)
  ctx.skip(`${reason}; CI unset, so skipped (a strict CI run fails instead)`)
}

export interface LiveMetrics {
  /** The Prometheus text exposition of a real serve after one render and one hit. */
  readonly text: string
  /** Metric family names (`# TYPE` lines). */
  readonly families: ReadonlySet<string>
}

/** Whether `name` is a sample name of one of the families (histograms: _bucket/_sum/_count). */
export function isExposed(metrics: LiveMetrics, name: string): boolean {
  if (metrics.families.has(name)) return true
  const base = name.replace(/_(bucket|sum|count)$/, '')
  return base !== name && metrics.families.has(base)
}

/** Starts the built serve, renders and hits one phrase over HTTP, reads /metrics, stops it (SIGTERM). */
export async function liveMetrics(): Promise<LiveMetrics> {
  const dir = await mkdtemp(join(tmpdir(), 'tts-ops-metrics-'))
  const serve = await startServeChild({ env: { TTS_CACHE_DIR: join(dir, 'cache'), TTS_LOG_LEVEL: 'info' } }).catch(async (err: unknown) => {
    await rm(dir, { recursive: true, force: true })
    throw err
  })
  try {
    const base = serve.base
    // A render, then a hit. A 503 with Retry-After (load shedding while a busy box starts it) is
    // asked again as a client would, a few times.
    for (let i = 0, attempts = 0; i < 2; ) {
      const res = await fetch(`${base}/v1/tts?text=${encodeURIComponent('ops pack metrics check')}`)
      const body = await res.arrayBuffer()
      if (res.status === 503 && attempts++ < 10) {
        await new Promise((done) => setTimeout(done, 1000 * Math.min(5, Number(res.headers.get('retry-after') ?? 1) || 1)))
        continue
      }
      if (!res.ok) throw new Error(`GET /v1/tts answered ${res.status}: ${Buffer.from(body).toString()}`)
      i++
    }
    const text = await (await fetch(`${base}/metrics`)).text()
    const families = new Set([...text.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1] ?? ''))
    return { text, families }
  } finally {
    await serve.stop()
    await rm(dir, { recursive: true, force: true })
  }
}
