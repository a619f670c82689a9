/**
 * Builds the HTTP server on an app from buildApp (the real TtsService, DiskStore in a temp dir
 * and in-process render pool), with two fakes given as overrides: the renderer (writes a canonical WAV, and can be
 * held so renders stay in flight as long as a test needs) and the engine catalog (fixed
 * engines and voices, no probing). Used by the HTTP tests that need a controllable renderer;
 * tests that need real audio use buildApp with espeak-ng.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { FastifyInstance } from 'fastify'
import { pino } from 'pino'
import { buildApp } from '../../../src/app/build-app.js'
import { loadConfig } from '../../../src/config/load-config.js'
import type { Config } from '../../../src/config/schema.js'
import type { EngineCatalog, ReadinessReport } from '../../../src/core/ports/index.js'
import { buildHttpServer, type HttpAppContext, type HttpServerOptions } from '../../../src/http/index.js'
import type { Metrics } from '../../../src/observability/metrics.js'
import type { DiskStore } from '../../../src/store/disk/disk-store.js'
import { FakeEngineCatalog } from '../../fakes/engine-catalogs.js'
import { FakeRenderer } from '../../fakes/fake-renderer.js'
import { LogCapture } from '../../fakes/loggers.js'

export const TEST_TOKEN = 'test-token-7f3a9c1e'

export interface TestHttpAppOptions {
  /** Config keys (as in a config file); cacheDir and apiToken have test defaults. */
  readonly config?: Readonly<Record<string, unknown>>
  readonly server?: HttpServerOptions
  readonly readiness?: () => Promise<ReadinessReport>
  readonly engines?: EngineCatalog
}

export interface TestHttpApp {
  readonly app: FastifyInstance
  readonly ctx: HttpAppContext
  readonly config: Config
  readonly renderer: FakeRenderer
  readonly store: DiskStore
  readonly metrics: Metrics
  /** The temp directory that holds the cache dir (and nothing else). */
  readonly root: string
  readonly cacheDir: string
  readonly logs: LogCapture
  /** Closes the server, then the service, pool and store; removes the temp dir. Idempotent. */
  close(): Promise<void>
}

/** The context buildHttpServer needs, on real core/store/pool parts with a fake renderer and catalog. */
export async function buildTestContext(options: Omit<TestHttpAppOptions, 'server'> = {}): Promise<
  Omit<TestHttpApp, 'app' | 'close'> & { closeContext(): Promise<void> }
> {
  const root = await mkdtemp(join(tmpdir(), 'tts-http-'))
  const cacheDir = join(root, 'cache')
  await mkdir(cacheDir)
  const config = loadConfig({
    env: {},
    overrides: { cacheDir, apiToken: TEST_TOKEN, logLevel: 'debug', renderConcurrency: 2, queueLimit: 100, ...options.config },
  })
  const logs = new LogCapture()
  const logger = pino({ level: config.logLevel, redact: { paths: ['req.headers.authorization', 'headers.authorization'], censor: '[redacted]' } }, logs)
  const renderer = new FakeRenderer()
  const built = await buildApp(config, { logger, defaultMetrics: false, engines: options.engines ?? new FakeEngineCatalog(), renderer: renderer.render })
  const { service, store, queue, metrics } = built
  const readiness =
    options.readiness ??
    (async (): Promise<ReadinessReport> => ({ ok: true, checks: { cacheDir: { ok: true, state: 'ok' }, engine: { ok: true, state: 'ok' } } }))
  const ctx: HttpAppContext = { config, logger, service, store, queue, metrics, readiness, prewarm: built.prewarm }
  let closed = false
  return {
    ctx,
    config,
    renderer,
    store,
    metrics,
    root,
    cacheDir,
    logs,
    async closeContext(): Promise<void> {
      if (closed) return
      closed = true
      renderer.release()
      await built.close(1000)
      await rm(root, { recursive: true, force: true })
    },
  }
}

/** The HTTP server on a test context (not listening: use inject, or listen on port 0). */
export async function buildTestHttpApp(options: TestHttpAppOptions = {}): Promise<TestHttpApp> {
  const { closeContext, ...parts } = await buildTestContext(options)
  const app = buildHttpServer(parts.ctx, { pressure: false, ...options.server })
  await app.ready()
  let closing: Promise<void> | undefined
  return {
    ...parts,
    app,
    close(): Promise<void> {
      closing ??= (async () => {
        parts.renderer.release()
        await app.close()
        await closeContext()
      })()
      return closing
    },
  }
}
