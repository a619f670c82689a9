// @ts-check
/**
 * Scale-out: runClusterBench (load/bench/cluster.ts, compiled by lib/compile-ts.js) against a
 * redis-server of our own on a free port. Once with its synthetic engine (a fixed 50 ms
 * render: measures the queue, not this machine's CPU) and once with the real espeak-ng
 * pipeline (engine + sox + checks, from dist/).
 */
import { mkdtempSync, rmSync } from 'node:fs'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import { compileTs } from '../lib/compile-ts.js'
import { collectingLogger } from '../lib/ours.js'
import { freePort, startChild, waitForTcp } from '../lib/servers.js'
import { fmtInt, fmtMs, fmtRatio } from '../lib/stats.js'

/**
 * @param {import('./context.js').ScenarioContext} ctx
 * @returns {Promise<import('../lib/report.js').Section>}
 */
export async function clusterScenario(ctx) {
  ctx.progress('compiling load/bench/cluster.ts')
  const compiled = (await compileTs(['load/bench/cluster.ts']))['load/bench/cluster.ts']
  if (compiled === undefined) {
    return { id: 'cluster', title: 'Cluster: dedupe across instances, 1 vs 2 workers', tables: [], error: 'not wired: load/bench/cluster.ts does not exist yet.' }
  }
  /** @type {{ runClusterBench: (o: Record<string, unknown>) => Promise<any> }} */
  const mod = await import(pathToFileURL(compiled).href)
  const port = await freePort()
  const redisDir = mkdtempSync(path.join(ctx.workDir, 'redis-'))
  const redis = startChild('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', redisDir], { cwd: redisDir })
  const redisUrl = `redis://127.0.0.1:${port}`
  /** @type {{ label: string, result: any }[]} */
  const runs = []
  try {
    await waitForTcp(port, redis)
    const sizes = ctx.quick ? { instances: 3, workers: 2, sentences: 3, burst: 5 } : { instances: 3, workers: 2, sentences: 20, burst: 100 }
    ctx.progress(`synthetic 50 ms engine: ${sizes.sentences} sentences × ${sizes.burst} requests over ${sizes.instances} instances`)
    runs.push({ label: 'synthetic engine, 50 ms a render', result: await mod.runClusterBench({ redisUrl, ...sizes, renderMs: 50 }) })
    if (!ctx.signal.aborted) {
      ctx.progress('real espeak-ng pipeline (engine + sox)')
      const app = await realPipelineApp(ctx.workDir)
      try {
        runs.push({ label: 'espeak-ng + sox (real pipeline)', result: await mod.runClusterBench({ redisUrl, ...sizes, renderer: app.renderer }) })
      } finally {
        await app.close()
      }
    }
  } finally {
    await redis.stop()
    rmSync(redisDir, { recursive: true, force: true })
  }
  const dedupeMet = runs.length > 0 && runs.every((r) => r.result.rendersPerUniqueSentence === 1 && r.result.failedRequests === 0)
  return {
    id: 'cluster',
    title: 'Cluster: dedupe across instances, 1 vs 2 workers',
    description:
      'runClusterBench (load/bench/cluster.ts): serving instances, each with its own TtsService, disk store and BullMQ client, ' +
      'and render workers, all on one redis-server (started for the run on a free port, no persistence). Dedupe phase: bursts of concurrent ' +
      'requests for new sentences spread round-robin over the instances. Throughput phase: the same number of new sentences ' +
      'rendered with 1 worker, then with 2 (concurrency 1 each). The Lua script has no cluster: every box renders for every ' +
      'caller that finds no file (see the cold bursts: 100 callers → 100 renders).',
    tables: [
      {
        caption: 'Dedupe under a concurrent burst across instances',
        headers: ['engine', 'instances × workers', 'requests (sentences × burst)', 'renders', 'renders per unique sentence', 'failed requests', 'latency p50', 'p99'],
        rows: runs.map(({ label, result: r }) => [
          label,
          `${r.instances} × ${r.workers}`,
          `${fmtInt(r.requests)} (${r.sentences} × ${r.burst})`,
          fmtInt(r.renders),
          r.rendersPerUniqueSentence.toFixed(2),
          fmtInt(r.failedRequests),
          fmtMs(r.latencyMs.p50),
          fmtMs(r.latencyMs.p99),
        ]),
      },
      {
        caption: 'Render throughput, 1 vs 2 workers',
        headers: ['engine', '1 worker: renders/s', '2 workers: renders/s', '2 / 1'],
        rows: runs.map(({ label, result: r }) => [
          label,
          r.throughput.oneWorker.rendersPerSecond.toFixed(1),
          r.throughput.twoWorkers.rendersPerSecond.toFixed(1),
          fmtRatio(r.throughput.twoWorkers.rendersPerSecond, r.throughput.oneWorker.rendersPerSecond),
        ]),
      },
    ],
    goals: [
      {
        name: 'one render per sentence across 3 instances',
        target: 'renders per unique sentence = 1.00',
        value: runs.map((r) => r.result.rendersPerUniqueSentence.toFixed(2)).join(', '),
        met: runs.length > 0 ? dedupeMet : undefined,
        why: 'a sentence was rendered more than once (or a request failed) across instances.',
      },
    ],
    notes: [
      'With the real pipeline both workers share this machine\'s cores with the instances and Redis, so the 2-worker speed-up is bounded by the CPU, not the queue.',
    ],
    raw: { runs },
  }
}

/**
 * An app from dist/ (buildApp, one-shot: the in-process engine pipeline, no render host) for
 * espeak-ng: its renderer is the service's own render pipeline (engine catalog + engine → sox).
 * @param {string} workDir
 */
async function realPipelineApp(workDir) {
  const { buildApp, loadConfig } = await import('../../../dist/index.js')
  const { logger } = collectingLogger()
  const cacheDir = mkdtempSync(path.join(workDir, 'real-pipeline-'))
  return buildApp(loadConfig({ env: {}, overrides: { cacheDir, engine: 'espeak-ng' } }), { logger, defaultMetrics: false })
}
