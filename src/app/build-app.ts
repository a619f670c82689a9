/**
 * The composition root: `buildApp(config, overrides)` wires the adapters into the core. The
 * CLI builds one app per process; tests, cluster test nodes and the benchmarks build theirs here
 * too, swapping any port through the overrides (a fake catalog, a counting renderer, a cluster
 * queue with test tuning). Nothing here listens on a port (server.ts does).
 */
import { mkdir } from 'node:fs/promises'
import { availableParallelism } from 'node:os'
import type { Logger as PinoLogger } from 'pino'
import type { Config } from '../config/schema.js'
import { engineAdapterOptionsOf } from '../config/engine-binaries.js'
import { DEFAULTS, renderSlotsFor } from '../core/defaults.js'
import { toTtsError } from '../core/errors.js'
import type { Clock, EngineCatalog, Logger, RenderQueue, Renderer } from '../core/ports/index.js'
import type { PrewarmBatches, PrewarmBatchesOptions } from '../core/prewarm-batches.js'
import { TtsService } from '../core/tts-service.js'
import { RenderHost } from '../engines/host/render-host.js'
import { createLogger, logSecretsOf } from '../logger.js'
import { Metrics } from '../observability/metrics.js'
import { InProcessRenderPool } from '../queue/in-process/render-pool.js'
import { DiskStore } from '../store/disk/disk-store.js'
import type { ClusterQueue } from './cluster.js'
import type { SharedAudioSource } from './shared-audio-tier.js'
import { redisConfigured } from './cluster-settings.js'
import type { AppContext } from './context.js'
import { detectAppEngines, type DetectedEngines } from './engine-detection.js'
import { engineRendererFor } from './engine-options.js'
import { buildPrewarm, type PrewarmOverride } from './prewarm.js'
import { coreProbes, readinessOf, type ReadinessProbe } from './readiness.js'

export type { ReadinessProbe } from './readiness.js'
export type { PrewarmOverride, PrewarmParts } from './prewarm.js'

/** What a `queue` override is handed: this node's in-process pool and the parts it renders with. */
export interface QueueParts {
  readonly pool: InProcessRenderPool
  readonly renderer: Renderer
  readonly engines: EngineCatalog
  readonly logger: Logger
}

export interface AppOverrides {
  readonly logger?: PinoLogger | undefined
  readonly clock?: Clock | undefined
  /**
   * Whether the caller will start listeners (serve) or not (one-shot CLI). With listeners the
   * store scans the cache directory in the background, so calls are answered during the scan.
   */
  readonly listeners?: boolean | undefined
  /** Render in a host process (render-host.ts). Default: with listeners (serve), not for one-shot commands. Ignored with `renderer`. */
  readonly renderHost?: boolean | undefined
  /** The engine catalog instead of detecting the engines (no probes, no re-check). */
  readonly engines?: EngineCatalog | undefined
  /** The renderer instead of the engine pipeline (no render host). */
  readonly renderer?: Renderer | undefined
  /** Wrap the renderer (given or built; tests count engine runs this way). */
  readonly wrapRenderer?: ((renderer: Renderer) => Renderer) | undefined
  /** An opened store instead of DiskStore.open on config.cacheDir; closed with the app. */
  readonly store?: DiskStore | undefined
  /**
   * The render queue instead of the pool (or the cluster queue when Redis is configured): a
   * queue, or a factory given the pool (e.g. a cluster queue with its own tuning). Closed with the app.
   */
  readonly queue?: RenderQueue | ((parts: QueueParts) => RenderQueue | Promise<RenderQueue>) | undefined
  /** The pre-warm tracker instead of the one built on the service (or a factory given its parts). Closed with the app. */
  readonly prewarm?: PrewarmOverride | undefined
  /** Sizing of the tracker built when `prewarm` is not given (the CLI keeps every failure of its one batch). */
  readonly prewarmOptions?: PrewarmBatchesOptions | undefined
  /** The cluster path's shared audio tier instead of the one config.clusterAudio picks (ignored with `queue`). */
  readonly sharedAudio?: SharedAudioSource | undefined
  /** Skip prom-client's process metrics (several apps in one test process). */
  readonly defaultMetrics?: boolean | undefined
}

export interface App extends AppContext {
  readonly engines: EngineCatalog
  readonly metrics: Metrics
  readonly store: DiskStore
  /** The renderer the queues run (engine → sox → validate, or the override), after `wrapRenderer`. */
  readonly renderer: Renderer
  /** The one pre-warm tracker: HTTP, the CLI and ESL CUSTOM events submit to it. */
  readonly prewarm: PrewarmBatches
  /** The cluster queue when REDIS_URL is set (and no `queue` override). */
  readonly cluster: ClusterQueue | undefined
  /**
   * After a start that replayed remembered engine probes: runs them again, adopts what changed
   * (a new version means new cache keys from then on) and remembers the outputs for the next
   * start. Never throws (a failure is logged and the remembered detection stays).
   */
  recheckEngines(): Promise<void>
  /** Listeners add their own readiness (e.g. the inbound ESL connection). */
  addReadinessCheck(name: string, probe: ReadinessProbe): void
  /** Refuse new renders, finish in-flight ones within `graceMs`, close queue and store. Idempotent. */
  close(graceMs?: number): Promise<void>
}

export async function buildApp(config: Config, overrides: AppOverrides = {}): Promise<App> {
  const logger = overrides.logger ?? createLogger({ level: config.logLevel, secrets: logSecretsOf(config) })
  const metrics = new Metrics({
    defaultMetrics: overrides.defaultMetrics ?? true,
    onCollectError: (err, source) => logger.warn({ err, source }, 'metrics collection failed'),
  })
  await mkdir(config.cacheDir, { recursive: true }).catch((err: unknown) => {
    throw toTtsError(err, 'TTS_ERR_STORE_IO')
  })
  const host = startRenderHost(config, overrides, logger)
  let built = false
  try {
    const listeners = overrides.listeners === true
    const detected = overrides.engines === undefined ? await detectAppEngines(config, logger, listeners, host) : undefined
    const engines = overrides.engines ?? detected?.engines
    if (engines === undefined) throw new Error('unreachable: engines neither given nor detected')
    host?.enable(engines.ids())
    const store = overrides.store ?? (await openStore(config, overrides, logger))
    const baseRenderer = overrides.renderer ?? host?.render ?? (detected === undefined ? undefined : engineRendererFor(config, detected.engines, logger))
    if (baseRenderer === undefined) throw new TypeError('buildApp: an `engines` override needs a `renderer` override too')
    const renderer = overrides.wrapRenderer?.(baseRenderer) ?? baseRenderer
    const pool = new InProcessRenderPool({
      renderer,
      concurrency: renderSlotsFor(config.renderConcurrency, availableParallelism()),
      queueLimit: config.queueLimit,
      clock: overrides.clock,
      logger, // the pool binds component render-pool itself
      observer: metrics.renderPool,
    })
    const { queue, cluster } = await wireQueue(config, overrides, { pool, renderer, engines, logger })
    const service = new TtsService({
      store,
      queue,
      engines,
      defaults: { engine: config.engine, voice: config.voice, sampleRate: config.sampleRate, maxTextChars: config.maxTextChars },
      logger: logger.child({ component: 'service' }),
      observer: metrics.tts,
    })
    const prewarm = buildPrewarm({ service, queue, logger, observer: metrics.tts }, overrides.prewarm, overrides.prewarmOptions)
    metrics.watchStore(store)
    metrics.watchQueue(queue)
    const app = assembleApp({ config, logger, metrics, host, detected, engines, store, renderer, pool, queue, cluster, service, prewarm })
    built = true
    return app
  } finally {
    // A failed build leaves no host process behind.
    if (!built) await host?.close()
  }
}

interface AppParts {
  readonly config: Config
  readonly logger: PinoLogger
  readonly metrics: Metrics
  readonly host: RenderHost | undefined
  readonly detected: DetectedEngines | undefined
  readonly engines: EngineCatalog
  readonly store: DiskStore
  readonly renderer: Renderer
  readonly pool: InProcessRenderPool
  readonly queue: RenderQueue
  readonly cluster: ClusterQueue | undefined
  readonly service: TtsService
  readonly prewarm: PrewarmBatches
}

/** The app over its wired parts: readiness probes, the engine re-check, and `close` in reverse order of wiring. */
function assembleApp(parts: AppParts): App {
  const { config, logger, metrics, host, detected, engines, store, renderer, pool, queue, cluster, service, prewarm } = parts
  const probes = coreProbes(config, store, engines, cluster === undefined ? undefined : () => cluster.readiness())
  let rechecking: Promise<void> | undefined
  let closing: Promise<void> | undefined
  return {
    config,
    logger,
    service,
    store,
    queue,
    engines,
    metrics,
    renderer,
    prewarm,
    cluster,
    recheckEngines() {
      rechecking ??= detected?.recheck() ?? Promise.resolve()
      return rechecking
    },
    addReadinessCheck(name, probe) {
      probes.set(name, probe)
    },
    readiness: () => readinessOf(probes),
    close(graceMs = config.shutdownGraceMs) {
      closing ??= (async () => {
        await rechecking
        // Pre-warm first: nothing more is handed to the service it then closes.
        await prewarm.close(0)
        await service.close(graceMs)
        await queue.close(graceMs)
        if (queue !== pool) await pool.close(graceMs)
        await host?.close()
        await store.close()
      })()
      return closing
    },
  }
}

/**
 * A service renders in its host process (see render-host.ts: starting processes from the
 * service's own would stall its event loop); a one-shot command renders in process. Forked
 * first, so it boots while this process detects the engines and opens the store.
 */
function startRenderHost(config: Config, overrides: AppOverrides, logger: PinoLogger): RenderHost | undefined {
  if (overrides.renderer !== undefined || !(overrides.renderHost ?? overrides.listeners === true)) return undefined
  return new RenderHost({ adapters: engineAdapterOptionsOf(config), enabled: [], timeoutMs: config.renderTimeoutMs, killGraceMs: undefined, soxPath: config.soxBin, logger })
}

function openStore(config: Config, overrides: AppOverrides, logger: PinoLogger): Promise<DiskStore> {
  const listeners = overrides.listeners === true
  return DiskStore.open({
    cacheDir: config.cacheDir,
    maxCacheBytes: config.maxCacheBytes,
    maxAgeMs: config.maxAgeMs,
    minFreeBytes: config.minFreeBytes,
    // A service registers in the directory: a second one there refuses to start unless both say it is shared.
    service: listeners ? { shared: config.cacheShared || config.clusterAudio === 'shared-dir' } : undefined,
    staleLockMs: Math.max(DEFAULTS.staleLockMs, config.renderTimeoutMs * 2),
    // A service answers at once, even on a big cache; a one-shot command wants the whole index.
    scanInBackground: listeners,
    clock: overrides.clock,
    logger,
  })
}

/** The pool, the queue given in the overrides, or (REDIS_URL) the cluster queue around the pool. */
async function wireQueue(config: Config, overrides: AppOverrides, parts: QueueParts): Promise<{ queue: RenderQueue; cluster: ClusterQueue | undefined }> {
  const given = overrides.queue
  if (given !== undefined) return { queue: typeof given === 'function' ? await given(parts) : given, cluster: undefined }
  if (!redisConfigured(config)) return { queue: parts.pool, cluster: undefined }
  // Loaded only when configured: BullMQ and ioredis cost start-up time the embedded default does not need.
  const { createClusterQueue } = await import('./cluster.js')
  const cluster = await createClusterQueue({
    config,
    // Unbound: the queue, its fallback and its worker each name their own component (a second
    // `component` binding would repeat the key in every line).
    logger: parts.logger,
    local: parts.pool,
    renderer: parts.renderer,
    engines: parts.engines,
    transport: config.clusterAudio,
    sharedAudio: overrides.sharedAudio,
  })
  return { queue: cluster, cluster }
}
