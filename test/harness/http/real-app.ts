/**
 * The HTTP server on the real application (buildApp: DiskStore, espeak-ng, in-process pool,
 * metrics, readiness) in a temp cache dir. The only test hook is a RenderGate around the real
 * renderer, so a test can keep renders in flight (slow engine, shutdown with work in flight).
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { FastifyInstance } from 'fastify'
import { buildApp, type App } from '../../../src/app/build-app.js'
import { loadConfig } from '../../../src/config/load-config.js'
import { buildHttpServer, type HttpServerOptions } from '../../../src/http/index.js'
import { createLogger } from '../../../src/logger.js'
import { LogCapture } from '../../fakes/loggers.js'
import { RenderGate } from '../../fakes/fake-renderer.js'
import { TEST_TOKEN } from './test-app.js'

export interface RealHttpApp {
  readonly app: FastifyInstance
  readonly ctx: App
  readonly gate: RenderGate
  readonly root: string
  readonly cacheDir: string
  readonly logs: LogCapture
  close(): Promise<void>
}

export interface RealHttpAppOptions {
  readonly config?: Readonly<Record<string, unknown>>
  readonly server?: HttpServerOptions
  /** Write logs here instead of capturing them. */
  readonly logDestination?: number
  /** Called before the server is ready: a test's own hooks (e.g. recording what the service answered). */
  readonly beforeReady?: (app: FastifyInstance) => void
}

export async function buildRealHttpApp(options: RealHttpAppOptions = {}): Promise<RealHttpApp> {
  const root = await mkdtemp(join(tmpdir(), 'tts-http-real-'))
  const cacheDir = join(root, 'cache')
  await mkdir(cacheDir)
  const config = loadConfig({
    env: {},
    overrides: {
      cacheDir,
      apiToken: TEST_TOKEN,
      engine: 'espeak-ng',
      logLevel: 'debug',
      renderConcurrency: 2,
      eslEnabled: false,
      ...options.config,
    },
  })
  const logs = new LogCapture()
  const logger = createLogger({ level: config.logLevel, destination: options.logDestination ?? logs })
  const gate = new RenderGate()
  const ctx = await buildApp(config, { logger, wrapRenderer: (renderer) => gate.wrap(renderer), defaultMetrics: false })
  const app = buildHttpServer(ctx, { pressure: false, ...options.server })
  options.beforeReady?.(app)
  await app.ready()
  let closing: Promise<void> | undefined
  return {
    app,
    ctx,
    gate,
    root,
    cacheDir,
    logs,
    close(): Promise<void> {
      closing ??= (async () => {
        gate.release()
        await app.close()
        await ctx.close(5000)
        await rm(root, { recursive: true, force: true })
      })()
      return closing
    },
  }
}
