/**
 * Fixtures for the cluster tests: a counting fixture renderer (deterministic WAV per text, with
 * gates to hold renders and hooks that say when one starts), a fixed engine catalog, a silent
 * logger, and a whole node (buildApp with a cluster queue override) in a temp dir.
 */
import { createHash } from 'node:crypto'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { pino, type Logger as PinoLogger } from 'pino'
import { createClusterQueue, type ClusterQueue, type WorkerTuning } from '../../src/app/cluster.js'
import type { ClusterConfig } from '../../src/app/cluster-settings.js'
import { cacheKeyFor } from '../../src/core/cache-key.js'
import { AUDIO_FORMAT } from '../../src/core/defaults.js'
import { TtsError } from '../../src/core/errors.js'
import type { PhraseRequest } from '../../src/core/phrase.js'
import type { EngineCatalog, Logger, RenderJob, RenderedAudio } from '../../src/core/ports/index.js'
import type { RedisTarget } from '../../src/redis/redis-target.js'
import { abortError } from '../../src/core/single-flight.js'
import type { TtsService } from '../../src/core/tts-service.js'
import type { DiskStore } from '../../src/store/disk/disk-store.js'
import { buildApp } from '../../src/app/build-app.js'
import { loadConfig } from '../../src/config/load-config.js'
import { canonicalWav } from './store-fixtures.js'

export const ENGINE_VERSION = 'fixture-1'
export const SAMPLE_RATE = 8000

/** Logs stay quiet unless TEST_LOG=debug (or another pino level) is set. */
export function testLogger(): Logger {
  return pino({ level: process.env['TEST_LOG'] ?? 'silent' }) as unknown as Logger
}

/** A PCM16 mono WAV whose samples derive from `text`: the same text gives the same bytes. */
export function wavFor(text: string, sampleRate = SAMPLE_RATE): Buffer {
  const seed = createHash('sha256').update(text).digest()
  const samples = Math.round(sampleRate / 5) + (seed[0] ?? 0)
  const buf = canonicalWav({ sampleRate, samples })
  for (let i = 0; i < samples; i++) buf.writeInt16LE(Math.round(Math.sin(i / (3 + ((seed[1] ?? 0) % 7))) * 8000), 44 + i * 2)
  return buf
}

export function requestFor(text: string): PhraseRequest {
  return Object.freeze({ text, voice: '', engine: 'espeak-ng', sampleRate: SAMPLE_RATE, format: AUDIO_FORMAT })
}

/** A RenderJob for `text` writing to `outPath`, keyed as the service would key it. */
export function jobFor(text: string, outPath: string): RenderJob {
  const request = requestFor(text)
  return { key: cacheKeyFor(request, ENGINE_VERSION), request, engineVersion: ENGINE_VERSION, outPath }
}

/** A catalog with one engine at a fixed version (the cluster tests need no real engine). */
export function fixedCatalog(version = ENGINE_VERSION): EngineCatalog {
  const versionOf = (engine: string): string => {
    if (engine !== 'espeak-ng') throw new TtsError('TTS_ERR_UNKNOWN_ENGINE', { args: [engine] })
    return version
  }
  return {
    versionOf,
    // Any voice of its one engine (it lists none); another engine is unknown, as in the real catalog.
    checkVoice: (engine: string) => void versionOf(engine),
    ids: () => ['espeak-ng'],
  }
}

/**
 * The pair most cluster tests need: node `a` runs the cluster's worker in-process with
 * `renderer`, node `b` only asks; both started and the worker ready. Each node's close goes to
 * `cleanups` (the caller runs them after the test).
 */
export async function startWorkerAndClientNodes(options: {
  readonly redisUrl: string | RedisTarget
  readonly prefix: string
  readonly renderer: CountingRenderer
  readonly cleanups: (() => Promise<unknown>)[]
  /** Extra settings for node a (the worker's) and node b. */
  readonly configA?: Partial<ClusterConfig>
  readonly configB?: Partial<ClusterConfig>
  readonly workerTuning?: WorkerTuning | undefined
}): Promise<{ a: TestNode; b: TestNode }> {
  const { redisUrl, prefix, cleanups } = options
  const a = await startTestNode({
    redisUrl,
    prefix,
    renderer: options.renderer,
    config: { workersInProcess: true, ...options.configA },
    ...(options.workerTuning === undefined ? {} : { workerTuning: options.workerTuning }),
  })
  cleanups.push(() => a.close())
  const b = await startTestNode({ redisUrl, prefix, config: { ...options.configB } })
  cleanups.push(() => b.close())
  await Promise.all([a.queue.cluster.whenStarted(), b.queue.cluster.whenStarted(), a.queue.worker?.whenReady()])
  return { a, b }
}

interface Gate {
  readonly promise: Promise<void>
  open(): void
}

function gate(): Gate {
  let open: () => void = () => undefined
  const promise = new Promise<void>((resolve) => {
    open = resolve
  })
  return { promise, open }
}

/**
 * The fixture engine: counts runs, writes `wavFor(text)`. `hold()` makes every later render wait
 * until `release()`; `nextStart()` resolves when a render starts (tests sequence on it).
 * `failWith(text, error)` makes renders of that text fail.
 */
export class CountingRenderer {
  runs = 0
  readonly runsByText = new Map<string, number>()
  readonly order: string[] = []
  #gate: Gate | undefined
  readonly #startWaiters: { readonly text: string | undefined; readonly resolve: (job: RenderJob) => void }[] = []
  /** Starts nobody has waited for yet, oldest first. */
  readonly #started: RenderJob[] = []
  readonly #failures = new Map<string, () => Error>()

  readonly render = async (job: RenderJob, signal: AbortSignal): Promise<RenderedAudio> => {
    this.runs++
    this.runsByText.set(job.request.text, (this.runsByText.get(job.request.text) ?? 0) + 1)
    this.order.push(job.request.text)
    const index = this.#startWaiters.findIndex((w) => w.text === undefined || w.text === job.request.text)
    if (index === -1) this.#started.push(job)
    else this.#startWaiters.splice(index, 1)[0]?.resolve(job)
    if (this.#gate !== undefined) {
      const held = this.#gate.promise
      await new Promise<void>((resolve, reject) => {
        // As the real pipeline does: an aborted render rejects with the typed abort error.
        const onAbort = (): void => reject(abortError(signal))
        signal.addEventListener('abort', onAbort, { once: true })
        void held.then(() => {
          signal.removeEventListener('abort', onAbort)
          resolve()
        })
      })
    }
    const failure = this.#failures.get(job.request.text)
    if (failure !== undefined) throw failure()
    const wav = wavFor(job.request.text, job.request.sampleRate)
    await writeFile(job.outPath, wav)
    return { bytes: wav.byteLength, durationMs: Math.round(((wav.byteLength - 44) / 2 / job.request.sampleRate) * 1000) }
  }

  hold(): void {
    this.#gate ??= gate()
  }

  release(): void {
    this.#gate?.open()
    this.#gate = undefined
  }

  failWith(text: string, error: () => Error): void {
    this.#failures.set(text, error)
  }

  succeed(text: string): void {
    this.#failures.delete(text)
  }

  /** Resolves with the next render start not yet waited for (of `text`, when given). */
  nextStart(text?: string): Promise<RenderJob> {
    const index = this.#started.findIndex((job) => text === undefined || job.request.text === text)
    if (index !== -1) return Promise.resolve(this.#started.splice(index, 1)[0] as RenderJob)
    return new Promise((resolve) => this.#startWaiters.push({ text, resolve }))
  }
}

/** The config keys that select `redis`: a URL (REDIS_URL), or a Sentinel / Cluster target. */
export function topologyConfig(redis: string | RedisTarget): Partial<ClusterConfig> {
  if (typeof redis === 'string') return { redisUrl: redis }
  switch (redis.kind) {
    case 'single':
      return { redisUrl: redis.url }
    case 'sentinel':
      return {
        redisUrl: undefined,
        redisSentinels: redis.sentinels.map((s) => ({ ...s })),
        redisSentinelName: redis.name,
        redisSentinelPassword: redis.sentinelPassword,
        redisUsername: redis.username,
        redisPassword: redis.password,
      }
    case 'cluster':
      return { redisUrl: undefined, redisClusterNodes: redis.nodes.map((n) => ({ ...n })), redisUsername: redis.username, redisPassword: redis.password }
  }
}

export function clusterConfig(redis: string | RedisTarget, prefix: string, overrides: Partial<ClusterConfig> = {}): ClusterConfig {
  return {
    redisUrl: undefined,
    ...topologyConfig(redis),
    redisCommandTimeoutMs: 1000,
    redisConnectTimeoutMs: 2000,
    audioRedisUrl: undefined,
    redisPrefix: prefix,
    redisFallback: 'local',
    redisFallbackAfterMs: 1000,
    audioTtlSeconds: 3600,
    workersInProcess: false,
    workerConcurrency: 2,
    renderConcurrency: 2,
    queueLimit: 1000,
    cacheDir: '/nonexistent',
    ...overrides,
  }
}

/** Short stall detection so a killed worker's job is retried within a test (docs/scale-out.md). */
export const FAST_STALL: WorkerTuning = Object.freeze({ lockDurationMs: 1000, stalledIntervalMs: 500, maxStalledCount: 1 })

export interface TestNode {
  readonly service: TtsService
  readonly store: DiskStore
  readonly queue: ClusterQueue
  /** The fallback's own renderer (counts local renders). */
  readonly localRenderer: CountingRenderer
  readonly dir: string
  close(): Promise<void>
}

/** One serving node: its own cache dir, disk store, in-process pool and BullMQ client. */
export async function startTestNode(options: {
  /** A single server's URL, or any topology. */
  readonly redisUrl: string | RedisTarget
  readonly prefix: string
  /** Default: silent (TEST_LOG=debug shows it). */
  readonly logger?: Logger | undefined
  readonly config?: Partial<ClusterConfig>
  readonly renderer?: CountingRenderer
  readonly workerTuning?: WorkerTuning
}): Promise<TestNode> {
  const dir = await mkdtemp(path.join(tmpdir(), 'tts-node-'))
  const logger = options.logger ?? testLogger()
  const localRenderer = new CountingRenderer()
  const clusterCfg = clusterConfig(options.redisUrl, options.prefix, { cacheDir: dir, ...options.config })
  const config = loadConfig({
    env: {},
    overrides: { cacheDir: dir, engine: 'espeak-ng', voice: '', sampleRate: SAMPLE_RATE, maxTextChars: 2000, renderConcurrency: 2, queueLimit: 1000 },
  })
  let queue: ClusterQueue | undefined
  const app = await buildApp(config, {
    // The app only calls the Logger port's methods on it (no render host, no engine detection here).
    logger: logger as unknown as PinoLogger,
    defaultMetrics: false,
    engines: fixedCatalog(),
    renderer: localRenderer.render,
    // The cluster queue with the test's own settings; the in-process worker (when the config asks) renders with `options.renderer`.
    queue: ({ pool }) =>
      (queue = createClusterQueue({ config: clusterCfg, logger, local: pool, renderer: options.renderer?.render, engines: fixedCatalog(), workerTuning: options.workerTuning })),
  })
  if (queue === undefined) throw new Error('unreachable: buildApp did not build the queue')
  return {
    service: app.service,
    store: app.store,
    queue,
    localRenderer,
    dir,
    close: async () => {
      await app.close(5000)
      await rm(dir, { recursive: true, force: true })
    },
  }
}

export function sha256Of(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex')
}

export async function sha256OfFile(file: string): Promise<string> {
  return sha256Of(await readFile(file))
}

export function tempDir(label: string): Promise<string> {
  return mkdtemp(path.join(tmpdir(), `tts-${label}-`))
}
