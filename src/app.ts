/**
 * The composition root: `buildApp(config, overrides)` wires the adapters into the core.
 * The CLI builds one app per process; tests build apps with real parts (and may wrap the
 * renderer to count engine runs). Nothing here listens on a port (src/server.ts does).
 */
import { constants as fsConstants } from 'node:fs'
import { access, mkdir } from 'node:fs/promises'
import type { Logger as PinoLogger } from 'pino'
import type { AppContext, ReadinessCheck, ReadinessReport } from './app-context.js'
import type { Config } from './config/schema.js'
import { DEFAULTS, renderSlotsFor } from './core/defaults.js'
import { toTtsError } from './core/errors.js'
import type { Clock, RenderQueue } from './core/ports.js'
import { TtsService } from './core/tts-service.js'
import { EngineCatalog, type EngineAdapterOptions } from './engines/catalog.js'
import { createEngineRenderer } from './engines/engine-renderer.js'
import { RenderHost } from './engines/render-host.js'
import { createLogger } from './logger.js'
import { Metrics } from './observability/metrics.js'
import { InProcessRenderPool, type RenderFunction } from './queue/in-process-pool.js'
import { DiskStore } from './store/disk-store.js'
import { availableParallelism } from 'node:os'
import type { ClusterQueue } from './cluster/index.js'

export interface AppOverrides {
  readonly logger?: PinoLogger | undefined
  readonly clock?: Clock | undefined
  /**
   * Whether the caller will start listeners (serve) or not (one-shot CLI). With listeners the
   * store scans the cache directory in the background, so calls are answered during the scan.
   */
  readonly listeners?: boolean | undefined
  /** Render in a host process (render-host.ts). Default: with listeners (serve), not for one-shot commands. */
  readonly renderHost?: boolean | undefined
  /** Wrap or replace the engine renderer (tests count engine runs this way). */
  readonly wrapRenderer?: ((renderer: RenderFunction) => RenderFunction) | undefined
  /** Skip prom-client's process metrics (several apps in one test process). */
  readonly defaultMetrics?: boolean | undefined
}

export type ReadinessProbe = () => ReadinessCheck | Promise<ReadinessCheck>

export interface App extends AppContext {
  readonly engines: EngineCatalog
  readonly metrics: Metrics
  readonly store: DiskStore
  /** The renderer the queues run (engine → sox → validate), after `wrapRenderer`. */
  readonly renderer: RenderFunction
  /** The cluster queue when REDIS_URL is set. */
  readonly cluster: ClusterQueue | undefined
  /** Listeners add their own readiness (e.g. the inbound ESL connection). */
  addReadinessCheck(name: string, probe: ReadinessProbe): void
  /** Refuse new renders, finish in-flight ones within `graceMs`, close queue and store. Idempotent. */
  close(graceMs?: number): Promise<void>
}

export async function buildApp(config: Config, overrides: AppOverrides = {}): Promise<App> {
  const logger = overrides.logger ?? createLogger({ level: config.logLevel })
  const metrics = new Metrics({
    defaultMetrics: overrides.defaultMetrics ?? true,
    onCollectError: (err, source) => logger.warn({ err, source }, 'metrics collection failed'),
  })
  await mkdir(config.cacheDir, { recursive: true }).catch((err: unknown) => {
    throw toTtsError(err, 'TTS_ERR_STORE_IO')
  })
  const adapterOptions: EngineAdapterOptions = {
    commandTemplate: config.command,
    engines: {
      'espeak-ng': { path: config.espeakNgBin },
      swift: { path: config.swiftBin },
      flite: { path: config.fliteBin },
      pico2wave: { path: config.pico2waveBin },
    },
  }
  const engines = await EngineCatalog.detect({ defaultEngine: config.engine, soxPath: config.soxBin, logger, ...adapterOptions })
  const store = await DiskStore.open({
    cacheDir: config.cacheDir,
    maxCacheBytes: config.maxCacheBytes,
    maxAgeMs: config.maxAgeMs,
    staleLockMs: Math.max(DEFAULTS.staleLockMs, config.renderTimeoutMs * 2),
    // A service answers at once, even on a big cache; a one-shot command wants the whole index.
    scanInBackground: overrides.listeners === true,
    clock: overrides.clock,
    logger,
  })
  // A service renders in its host process (see render-host.ts: starting processes from the
  // service's own would stall its event loop); a one-shot command renders in process.
  const host =
    (overrides.renderHost ?? overrides.listeners === true)
      ? new RenderHost({ adapters: adapterOptions, enabled: engines.ids(), timeoutMs: config.renderTimeoutMs, killGraceMs: undefined, soxPath: config.soxBin, logger })
      : undefined
  const baseRenderer =
    host?.render ??
    createEngineRenderer(engines, {
      timeoutMs: config.renderTimeoutMs,
      soxPath: config.soxBin,
      logger: logger.child({ component: 'render' }),
    })
  const renderer = overrides.wrapRenderer?.(baseRenderer) ?? baseRenderer
  const concurrency = renderSlotsFor(config.renderConcurrency, availableParallelism())
  const pool = new InProcessRenderPool({
    renderer,
    concurrency,
    queueLimit: config.queueLimit,
    clock: overrides.clock,
    logger: logger.child({ component: 'pool' }),
    observer: metrics.renderPool,
  })
  let cluster: ClusterQueue | undefined
  let queue: RenderQueue = pool
  if (config.redisUrl !== undefined) {
    // Loaded only when configured: BullMQ and ioredis cost start-up time the embedded default does not need.
    const { createClusterQueue } = await import('./cluster/index.js')
    cluster = await createClusterQueue({
      config,
      logger: logger.child({ component: 'cluster' }),
      local: pool,
      renderer,
      engines,
      transport: config.clusterAudio,
    })
    queue = cluster
  }
  const service = new TtsService({
    store,
    queue,
    engines,
    defaults: { engine: config.engine, voice: config.voice, sampleRate: config.sampleRate, maxTextChars: config.maxTextChars },
    logger: logger.child({ component: 'service' }),
    observer: metrics.tts,
  })
  metrics.watchStore(store)
  metrics.watchQueue(queue)

  const probes = new Map<string, ReadinessProbe>()
  probes.set('cacheDir', async () => {
    try {
      await access(config.cacheDir, fsConstants.W_OK)
      return { ok: true, state: 'ok', detail: config.cacheDir }
    } catch (err) {
      return { ok: false, state: 'failed', detail: `${config.cacheDir} is not writable: ${(err as Error).message}` }
    }
  })
  probes.set('index', () => {
    const { state, error } = store.indexing
    const { entries } = store.stats()
    if (state === 'failed') {
      return { ok: true, state: 'degraded', detail: `scan failed (${error?.message ?? 'unknown'}); ${entries} entries indexed, the rest are read from disk when asked for` }
    }
    if (state === 'scanning') return { ok: true, state: 'ok', detail: `scanning the cache directory: ${entries} entries indexed so far, the rest are read from disk when asked for` }
    return { ok: true, state: 'ok', detail: `${entries} entries` }
  })
  probes.set('engine', async () => {
    const status = engines.describe().engines.find((e) => e.isDefault)
    const path = status?.path
    if (path === undefined) return { ok: false, state: 'failed', detail: `${config.engine} not found` }
    try {
      await access(path, fsConstants.X_OK)
      return { ok: true, state: 'ok', detail: `${config.engine} ${status?.version ?? ''}`.trim() }
    } catch {
      return { ok: false, state: 'failed', detail: `${config.engine} at ${path} is no longer executable` }
    }
  })
  if (cluster !== undefined) {
    const c = cluster
    probes.set('redis', () => c.readiness())
  }

  let closing: Promise<void> | undefined
  const app: App = {
    config,
    logger,
    service,
    store,
    queue,
    engines,
    metrics,
    renderer,
    cluster,
    addReadinessCheck(name, probe) {
      probes.set(name, probe)
    },
    async readiness(): Promise<ReadinessReport> {
      const entries = await Promise.all(
        [...probes].map(async ([name, probe]): Promise<[string, ReadinessCheck]> => {
          try {
            return [name, await probe()]
          } catch (err) {
            return [name, { ok: false, state: 'failed', detail: toTtsError(err).message }]
          }
        }),
      )
      return { ok: entries.every(([, check]) => check.ok), checks: Object.fromEntries(entries) }
    },
    close(graceMs = config.shutdownGraceMs) {
      closing ??= (async () => {
        await service.close(graceMs)
        await queue.close(graceMs)
        if (queue !== pool) await pool.close(graceMs)
        await host?.close()
        await store.close()
      })()
      return closing
    },
  }
  return app
}
