/**
 * Cluster benchmark: N serving nodes and M render workers on one Redis, all in this process
 * (each node a buildApp with its own disk store in its own temp dir and BullMQ client).
 *
 *   rendersPerUniqueSentence  bursts of concurrent requests for new sentences, spread over the
 *                             nodes: engine runs per unique sentence (the goal is exactly 1.0)
 *   throughput                the same set of unique sentences rendered with 1 and with 2
 *                             workers (concurrency 1 each): renders per second, and the ratio
 *
 * The default engine is synthetic (sleeps `renderMs`, then writes a small WAV): it stands for a
 * slow engine on a dedicated render box, so the numbers measure the queue, not the CPU of this
 * machine. Pass `renderer` to measure a real engine pipeline.
 *
 * Library: `runClusterBench({ redisUrl, instances, workers, sentences, burst })` (one run of each
 * phase), or the phases alone — `runClusterBurst(options)`, `runClusterThroughput(options, workers)` —
 * which the bench (scenarios/cluster.js) runs in interleaved rounds, a fresh `prefix` per round.
 * CLI:     node --import ./test/harness/ts-hooks.mjs load/bench/cluster.ts redis://127.0.0.1:6379
 */
import { randomUUID } from 'node:crypto'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import { pino, type Logger as PinoLogger } from 'pino'
// The package's public entry only (src/index.ts; compiled with it by lib/compile-ts.js).
import {
  buildApp,
  loadConfig,
  startWorker,
  TtsError,
  type ClusterConfig,
  type EngineCatalog,
  type Logger,
  type RenderedAudio,
  type RenderJob,
  type Renderer,
  type RenderWorkerHandle,
  type TtsService,
} from '../../src/index.js'

export interface ClusterBenchOptions {
  readonly redisUrl: string
  /** Serving nodes. Default 3. */
  readonly instances?: number
  /** Workers for the once-per-key phase. Default 2. */
  readonly workers?: number
  /** Unique sentences per phase. Default 20. */
  readonly sentences?: number
  /** Concurrent requests per sentence in the once-per-key phase. Default 100. */
  readonly burst?: number
  /** Synthetic engine time per render. Default 50 ms. */
  readonly renderMs?: number
  /** A real engine pipeline instead of the synthetic one. */
  readonly renderer?: Renderer
  /** Key namespace; a fresh one per phase is derived from it. Default `bench-<uuid>`. */
  readonly prefix?: string
}

export interface ThroughputResult {
  readonly workers: number
  /** New sentences asked for (each once): `renders / sentences` is 1.00 when each was rendered once. */
  readonly sentences: number
  readonly renders: number
  readonly wallMs: number
  readonly rendersPerSecond: number
}

export interface ClusterBenchResult extends BurstResult {
  readonly throughput: {
    readonly oneWorker: ThroughputResult
    readonly twoWorkers: ThroughputResult
    /** twoWorkers / oneWorker renders per second. */
    readonly speedup: number
  }
}

const SAMPLE_RATE = 8000
const ENGINE_VERSION = 'bench-1'

export interface BurstResult {
  readonly instances: number
  readonly workers: number
  readonly sentences: number
  readonly burst: number
  readonly requests: number
  readonly renders: number
  /** Engine runs per unique sentence (1.0 = once per key). */
  readonly rendersPerUniqueSentence: number
  readonly failedRequests: number
  /** Request latency, ms. */
  readonly latencyMs: { readonly p50: number; readonly p99: number; readonly max: number }
}

/** One run (or round) needs a key namespace of its own: sentences new to Redis and every node. */
function settingsOf(options: ClusterBenchOptions): { instances: number; workers: number; sentences: number; burst: number; base: string; logger: Logger; renderer: () => Renderer } {
  const renderMs = options.renderMs ?? 50
  return {
    instances: options.instances ?? 3,
    workers: options.workers ?? 2,
    sentences: options.sentences ?? 20,
    burst: options.burst ?? 100,
    base: options.prefix ?? `bench-${randomUUID().slice(0, 8)}`,
    logger: pino({ level: process.env['BENCH_LOG'] ?? 'silent' }) as unknown as Logger,
    renderer: () => options.renderer ?? syntheticRenderer(renderMs),
  }
}

/**
 * The dedupe phase: `burst` concurrent requests for each of `sentences` new sentences, spread
 * round-robin over `instances` nodes with `workers` workers; engine runs per unique sentence.
 */
export async function runClusterBurst(options: ClusterBenchOptions): Promise<BurstResult> {
  const { instances, workers, sentences, burst, base, logger, renderer } = settingsOf(options)
  const counter = countingRenderer(renderer())
  const run = await withCluster({ redisUrl: options.redisUrl, prefix: `${base}-burst`, instances, workers, renderer: counter.render, logger }, async (nodes) => {
    const latencies: number[] = []
    let failed = 0
    const requests: Promise<void>[] = []
    for (let s = 0; s < sentences; s++) {
      const text = `Burst sentence ${s} for ${base}.`
      for (let r = 0; r < burst; r++) {
        const node = nodes[r % nodes.length] as TtsService
        const started = performance.now()
        requests.push(
          node.get({ text }, { source: 'http' }).then(
            () => {
              latencies.push(performance.now() - started)
            },
            () => {
              failed++
            },
          ),
        )
      }
    }
    await Promise.all(requests)
    return { latencies, failed }
  })
  const sorted = [...run.latencies].sort((a, b) => a - b)
  return {
    instances,
    workers,
    sentences,
    burst,
    requests: sentences * burst,
    renders: counter.runs(),
    rendersPerUniqueSentence: counter.runs() / sentences,
    failedRequests: run.failed,
    latencyMs: { p50: round(quantile(sorted, 0.5)), p99: round(quantile(sorted, 0.99)), max: round(sorted.at(-1) ?? 0) },
  }
}

/**
 * The throughput phase: `sentences` new sentences (one request each, spread over the nodes)
 * rendered by `workers` workers of concurrency 1; wall time from the first request to the last answer.
 */
export async function runClusterThroughput(options: ClusterBenchOptions, workers: number): Promise<ThroughputResult> {
  const { instances, sentences, base, logger, renderer } = settingsOf(options)
  const c = countingRenderer(renderer())
  return withCluster({ redisUrl: options.redisUrl, prefix: `${base}-tp${workers}`, instances, workers, renderer: c.render, logger }, async (nodes) => {
    const started = performance.now()
    await Promise.all(Array.from({ length: sentences }, (_, s) => (nodes[s % nodes.length] as TtsService).get({ text: `Throughput sentence ${s} for ${base}.` })))
    const wallMs = performance.now() - started
    return { workers, sentences, renders: c.runs(), wallMs: round(wallMs), rendersPerSecond: round((c.runs() / wallMs) * 1000) }
  })
}

/** One run of each phase: the burst, then 1 worker, then 2 (the bench runs them in interleaved rounds: scenarios/cluster.js). */
export async function runClusterBench(options: ClusterBenchOptions): Promise<ClusterBenchResult> {
  const shared = { ...options, prefix: options.prefix ?? `bench-${randomUUID().slice(0, 8)}` }
  const burst = await runClusterBurst(shared)
  const oneWorker = await runClusterThroughput(shared, 1)
  const twoWorkers = await runClusterThroughput(shared, 2)
  return { ...burst, throughput: { oneWorker, twoWorkers, speedup: round(twoWorkers.rendersPerSecond / oneWorker.rendersPerSecond) } }
}

interface ClusterSetup {
  readonly redisUrl: string
  readonly prefix: string
  readonly instances: number
  readonly workers: number
  readonly renderer: Renderer
  readonly logger: Logger
}

/** Starts the nodes and workers, runs `body`, and always tears everything down. */
async function withCluster<T>(setup: ClusterSetup, body: (nodes: readonly TtsService[]) => Promise<T>): Promise<T> {
  const config: ClusterConfig = {
    redisUrl: setup.redisUrl,
    audioRedisUrl: undefined,
    redisPrefix: setup.prefix,
    redisFallback: 'fail',
    redisFallbackAfterMs: 10_000,
    redisCommandTimeoutMs: 1000,
    redisConnectTimeoutMs: 2000,
    audioTtlSeconds: 600,
    workersInProcess: false,
    workerConcurrency: 1,
    renderConcurrency: 1,
    queueLimit: 100_000,
    cacheDir: '/nonexistent',
  }
  const closers: (() => Promise<unknown>)[] = []
  try {
    const workers: RenderWorkerHandle[] = []
    for (let i = 0; i < setup.workers; i++) {
      const worker = startWorker({ config, logger: setup.logger, renderer: setup.renderer, name: `bench-${i}` })
      closers.push(() => worker.close(5000))
      workers.push(worker)
    }
    const services: TtsService[] = []
    for (let i = 0; i < setup.instances; i++) {
      const dir = await mkdtemp(path.join(tmpdir(), 'tts-bench-node-'))
      closers.push(() => rm(dir, { recursive: true, force: true }))
      // A node is a plain buildApp: the bench's Redis settings in its config (buildApp builds the
      // cluster queue from them, as for `serve`), the bench catalog and renderer as overrides.
      const { cacheDir: _unused, ...redisSettings } = config
      const nodeConfig = loadConfig({
        env: {},
        overrides: { ...redisSettings, cacheDir: dir, engine: 'espeak-ng', voice: '', sampleRate: SAMPLE_RATE, maxTextChars: 2000, renderConcurrency: 1 },
      })
      const app = await buildApp(nodeConfig, {
        logger: setup.logger as unknown as PinoLogger,
        defaultMetrics: false,
        engines: benchCatalog,
        renderer: setup.renderer,
      })
      closers.push(() => app.close(5000))
      if (app.cluster === undefined) throw new Error('buildApp built no cluster queue: redisUrl missing from the node config')
      await app.cluster.cluster.whenStarted()
      services.push(app.service)
    }
    await Promise.all(workers.map((w) => w.whenReady()))
    return await body(services)
  } finally {
    for (const close of closers.reverse()) await close().catch(() => undefined)
  }
}

const benchCatalog: EngineCatalog = {
  versionOf(engine: string): string {
    if (engine !== 'espeak-ng') throw new TtsError('TTS_ERR_UNKNOWN_ENGINE', { args: [engine] })
    return ENGINE_VERSION
  },
  checkVoice: () => undefined,
  ids: () => ['espeak-ng'],
}

function countingRenderer(inner: Renderer): { render: Renderer; runs: () => number } {
  let runs = 0
  return {
    render: (job, signal) => {
      runs++
      return inner(job, signal)
    },
    runs: () => runs,
  }
}

/** A slow engine elsewhere: waits `renderMs`, then writes 200 ms of PCM16 mono at the job's rate. */
function syntheticRenderer(renderMs: number): Renderer {
  return async (job: RenderJob, signal: AbortSignal): Promise<RenderedAudio> => {
    await sleep(renderMs, undefined, { signal })
    const rate = job.request.sampleRate
    const samples = Math.round(rate / 5)
    const wav = Buffer.alloc(44 + samples * 2)
    wav.write('RIFF', 0, 'ascii')
    wav.writeUInt32LE(36 + samples * 2, 4)
    wav.write('WAVEfmt ', 8, 'ascii')
    wav.writeUInt32LE(16, 16)
    wav.writeUInt16LE(1, 20)
    wav.writeUInt16LE(1, 22)
    wav.writeUInt32LE(rate, 24)
    wav.writeUInt32LE(rate * 2, 28)
    wav.writeUInt16LE(2, 32)
    wav.writeUInt16LE(16, 34)
    wav.write('data', 36, 'ascii')
    wav.writeUInt32LE(samples * 2, 40)
    for (let i = 0; i < samples; i++) wav.writeInt16LE(Math.round(Math.sin(i / 5) * 4000), 44 + i * 2)
    await writeFile(job.outPath, wav)
    return { bytes: wav.byteLength, durationMs: 200 }
  }
}

function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return 0
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0
}

function round(n: number): number {
  return Math.round(n * 100) / 100
}

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const redisUrl = process.argv[2] ?? process.env['REDIS_URL']
  if (redisUrl === undefined) {
    process.stderr.write('usage: cluster.ts <redis-url>  (or REDIS_URL)\n')
    process.exit(2)
  }
  const result = await runClusterBench({ redisUrl })
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`)
  process.exit(0)
}
