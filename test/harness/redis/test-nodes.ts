/**
 * Whole cluster nodes for the Redis tests: buildApp with a cluster queue override (its own cache
 * dir, disk store, in-process pool and BullMQ client), fed by the fakes in test/fakes/
 * (CountingRenderer, fixedCatalog, a silent logger).
 */
import { createHash } from 'node:crypto'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import type { Logger as PinoLogger } from 'pino'
import { createClusterQueue, type ClusterQueue, type WorkerTuning } from '../../../src/app/cluster.js'
import type { ClusterConfig } from '../../../src/app/cluster-settings.js'
import type { Logger } from '../../../src/core/ports/index.js'
import type { RedisTarget } from '../../../src/redis/redis-target.js'
import type { TtsService } from '../../../src/core/tts-service.js'
import type { DiskStore } from '../../../src/store/disk/disk-store.js'
import { buildApp } from '../../../src/app/build-app.js'
import { loadConfig } from '../../../src/config/load-config.js'
import { CountingRenderer } from '../../fakes/counting-renderer.js'
import { fixedCatalog } from '../../fakes/engine-catalogs.js'
import { testLogger } from '../../fakes/loggers.js'
import { SAMPLE_RATE } from '../queue/render-jobs.js'

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
    // One-root exception (docs/architecture.md): through buildApp's queue override, src/app's own factory builds the cluster
    // queue with the test's settings; its in-process worker (when the config asks) renders with `options.renderer`.
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
