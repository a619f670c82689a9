/**
 * The composition root: `buildApp(config, overrides)` wires the adapters into the core.
 * The CLI builds one app per process; tests build apps with real parts (and may wrap the
 * renderer to count engine runs). Nothing here listens on a port (src/server.ts does).
 */
import { constants as fsConstants } from 'node:fs'
import { access, mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import type { Logger as PinoLogger } from 'pino'
import type { AppContext } from './context.js'
import { engineAdapterOptionsOf } from '../config/engine-binaries.js'
import type { Config } from '../config/schema.js'
import { DEFAULTS, renderSlotsFor } from '../core/defaults.js'
import { toTtsError } from '../core/errors.js'
import type { Clock, ReadinessCheck, ReadinessReport, RenderQueue, Renderer } from '../core/ports/index.js'
import { TtsService } from '../core/tts-service.js'
import { EngineCatalog } from '../engines/catalog.js'
import { PROBE_MEMO_FILE, ProbeMemo } from '../engines/probe-memo.js'
import { createEngineRenderer } from '../engines/pipeline/engine-renderer.js'
import { RenderHost } from '../engines/host/render-host.js'
import { createLogger, logSecretsOf } from '../logger.js'
import { Metrics } from '../observability/metrics.js'
import { InProcessRenderPool } from '../queue/in-process/render-pool.js'
import { DiskStore } from '../store/disk/disk-store.js'
import { availableParallelism } from 'node:os'
import type { ClusterQueue } from './cluster.js'
import { redisConfigured } from './cluster-settings.js'

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
  readonly wrapRenderer?: ((renderer: Renderer) => Renderer) | undefined
  /** Skip prom-client's process metrics (several apps in one test process). */
  readonly defaultMetrics?: boolean | undefined
}

export type ReadinessProbe = () => ReadinessCheck | Promise<ReadinessCheck>

export interface App extends AppContext {
  readonly engines: EngineCatalog
  readonly metrics: Metrics
  readonly store: DiskStore
  /** The renderer the queues run (engine → sox → validate), after `wrapRenderer`. */
  readonly renderer: Renderer
  /** The cluster queue when REDIS_URL is set. */
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
  const adapterOptions = engineAdapterOptionsOf(config)
  const detectOptions = { defaultEngine: config.engine, soxPath: config.soxBin, logger, ...adapterOptions }
  // A service renders in its host process (see render-host.ts: starting processes from the
  // service's own would stall its event loop); a one-shot command renders in process. Forked
  // first, so it boots while this process detects the engines and opens the store.
  const host =
    (overrides.renderHost ?? overrides.listeners === true)
      ? new RenderHost({ adapters: adapterOptions, enabled: [], timeoutMs: config.renderTimeoutMs, killGraceMs: undefined, soxPath: config.soxBin, logger })
      : undefined
  let built = false
  try {
    // A service starts from the probes it remembers and re-checks them once listening
    // (recheckEngines); one-shot commands and `doctor` always probe. (Probing in the host on a
    // first start, when nothing is remembered, measured no faster: the niced host boots while
    // this process has nothing else to do.)
    const probeMemoFile = join(config.cacheDir, PROBE_MEMO_FILE)
    const memo = overrides.listeners === true ? await ProbeMemo.load(probeMemoFile, logger) : undefined
    const engines = await EngineCatalog.detect({ ...detectOptions, memo })
    host?.enable(engines.ids())
    if (memo !== undefined && memo.counts.replayed > 0) {
      logger.info({ file: probeMemoFile, ...memo.counts }, 'engine probes replayed from the last start; re-checked once listening')
    }
    const store = await DiskStore.open({
      cacheDir: config.cacheDir,
      maxCacheBytes: config.maxCacheBytes,
      maxAgeMs: config.maxAgeMs,
      minFreeBytes: config.minFreeBytes,
      // A service registers in the directory: a second one there refuses to start unless both say it is shared.
      service: overrides.listeners === true ? { shared: config.cacheShared || config.clusterAudio === 'shared-dir' } : undefined,
      staleLockMs: Math.max(DEFAULTS.staleLockMs, config.renderTimeoutMs * 2),
      // A service answers at once, even on a big cache; a one-shot command wants the whole index.
      scanInBackground: overrides.listeners === true,
      clock: overrides.clock,
      logger,
    })
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
    if (redisConfigured(config)) {
      // Loaded only when configured: BullMQ and ioredis cost start-up time the embedded default does not need.
      const { createClusterQueue } = await import('./cluster.js')
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
    // Vanished, replaced or unmounted directory, not writable, or below TTS_MIN_FREE_BYTES (DiskStore.health).
    probes.set('cacheDir', async () => {
      const { state, detail } = await store.health()
      return { ok: state !== 'failed', state, detail }
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

    const recheck = async (): Promise<void> => {
      if (memo === undefined) return
      try {
        if (memo.counts.replayed === 0) {
          await memo.save()
          return
        }
        // Probed in the render host when there is one (no process start here); replayed here.
        const recorder = host === undefined ? ProbeMemo.recorder(probeMemoFile) : ProbeMemo.replaying(probeMemoFile, await host.probe(config.engine))
        const fresh = await EngineCatalog.detect({ ...detectOptions, memo: recorder, logFound: false })
        if (!recorder.sameAs(memo)) {
          const { changed, found, lost } = engines.adopt(fresh)
          if (changed.length > 0) logger.warn({ engines: changed }, 'engines changed since their probes were remembered: now using what they report')
          if (found.length + lost.length > 0) logger.warn({ found, lost }, 'engines found or lost since the start: restart the service to enable or disable them')
        }
        await recorder.save()
      } catch (err) {
        logger.warn({ err }, 'engine re-check failed: keeping the detection from the start')
      }
    }
    let rechecking: Promise<void> | undefined

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
      recheckEngines() {
        rechecking ??= recheck()
        return rechecking
      },
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
          await rechecking
          await service.close(graceMs)
          await queue.close(graceMs)
          if (queue !== pool) await pool.close(graceMs)
          await host?.close()
          await store.close()
        })()
        return closing
      },
    }
    built = true
    return app
  } finally {
    // A failed build leaves no host process behind.
    if (!built) await host?.close()
  }
}
