/**
 * Builds the HTTP server on an app from buildApp (the real TtsService, DiskStore in a temp dir
 * and in-process render pool), with two fakes given as overrides: the renderer (writes a canonical WAV, and can be
 * held so renders stay in flight as long as a test needs) and the engine catalog (fixed
 * engines and voices, no probing). Used by the HTTP tests that need a controllable renderer;
 * tests that need real audio use buildApp with espeak-ng.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import type { FastifyInstance } from 'fastify'
import { pino } from 'pino'
import type { ReadinessReport } from '../../src/core/ports/index.js'
import { buildApp } from '../../src/app/build-app.js'
import { loadConfig } from '../../src/config/load-config.js'
import type { Config } from '../../src/config/schema.js'
import { TtsError } from '../../src/core/errors.js'
import type { EngineCatalog, RenderedAudio, RenderJob } from '../../src/core/ports/index.js'
import { buildHttpServer, type HttpAppContext, type HttpServerOptions } from '../../src/http/index.js'
import type { Metrics } from '../../src/observability/metrics.js'
import type { Renderer } from '../../src/core/ports/index.js'
import type { DiskStore } from '../../src/store/disk/disk-store.js'
import { canonicalWav } from './store-fixtures.js'

export const TEST_TOKEN = 'test-token-7f3a9c1e'

/** A canonical PCM16 mono WAV with `samples` samples of a quiet ramp. */
export function testWav(sampleRate: number, samples: number): Buffer {
  return canonicalWav({ sampleRate, samples })
}

/**
 * Holds renders so they stay in flight as long as a test needs: `wrap(renderer)` returns a
 * renderer that records each job, then (after `hold()`) waits for `release()` before running.
 */
export class RenderGate {
  readonly started: RenderJob[] = []
  /** Called as each render starts (before any hold). */
  onStart: ((job: RenderJob) => void) | undefined
  #held = false
  #gate: { promise: Promise<void>; open: () => void } | undefined
  #waiters: { count: number; resolve: () => void }[] = []
  #failures: TtsError[] = []

  wrap(inner: Renderer): Renderer {
    return async (job, signal) => {
      this.started.push(job)
      this.onStart?.(job)
      for (const w of this.#waiters.filter((x) => this.started.length >= x.count)) w.resolve()
      this.#waiters = this.#waiters.filter((x) => this.started.length < x.count)
      if (this.#held) {
        this.#gate ??= gate()
        await Promise.race([
          this.#gate.promise,
          new Promise<never>((_, reject) => signal.addEventListener('abort', () => reject(new TtsError('TTS_ERR_ABORTED')), { once: true })),
        ])
      }
      const failure = this.#failures.shift()
      if (failure !== undefined) throw failure
      return inner(job, signal)
    }
  }

  hold(): void {
    this.#held = true
  }

  /** Lets every held render go on; later renders run at once until the next hold(). */
  release(): void {
    this.#held = false
    this.#gate?.open()
    this.#gate = undefined
  }

  /** The next render fails with this error (after any hold). */
  failNext(error: TtsError): void {
    this.#failures.push(error)
  }

  /** Resolves once `count` renders have started in total. */
  waitForStarted(count: number): Promise<void> {
    if (this.started.length >= count) return Promise.resolve()
    return new Promise((resolve) => this.#waiters.push({ count, resolve }))
  }
}

/** Writes a WAV whose length depends on the text (no engine involved). */
export async function writeFakeWav(job: RenderJob): Promise<RenderedAudio> {
  const samples = 400 + 40 * job.request.text.length
  const wav = testWav(job.request.sampleRate, samples)
  await writeFile(job.outPath, wav)
  return { bytes: wav.length, durationMs: Math.round((samples / job.request.sampleRate) * 1000) }
}

/** The fake renderer: a RenderGate around writeFakeWav. */
export class FakeRenderer extends RenderGate {
  readonly render: Renderer = this.wrap(writeFakeWav)
}

function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void
  const promise = new Promise<void>((resolve) => {
    open = resolve
  })
  return { promise, open }
}

/** Fixed engines: `espeak-ng` (voices en, en-us, fr) and `flite` (any voice). */
export class FakeEngineCatalog implements EngineCatalog {
  readonly #voices: Readonly<Record<string, readonly string[] | undefined>>

  constructor(voices: Readonly<Record<string, readonly string[] | undefined>> = { 'espeak-ng': ['en', 'en-us', 'fr'], flite: undefined }) {
    this.#voices = voices
  }

  versionOf(engine: string): string {
    if (!Object.hasOwn(this.#voices, engine)) throw new TtsError('TTS_ERR_UNKNOWN_ENGINE', { args: [engine] })
    return 'fake-1'
  }

  checkVoice(engine: string, voice: string): void {
    this.versionOf(engine) // an engine it does not hold: TTS_ERR_UNKNOWN_ENGINE, as the real catalog
    const list = this.#voices[engine]
    if (list !== undefined && voice !== '' && !list.includes(voice)) throw new TtsError('TTS_ERR_UNKNOWN_VOICE', { args: [engine, voice] })
  }

  ids(): readonly string[] {
    return Object.keys(this.#voices)
  }
}

/** Collects pino's JSON lines (to check what reaches the log). */
export class LogCapture extends Writable {
  readonly lines: string[] = []

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: () => void): void {
    this.lines.push(...chunk.toString('utf8').split('\n').filter((l) => l !== ''))
    callback()
  }

  get text(): string {
    return this.lines.join('\n')
  }
}

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
  const ctx: HttpAppContext = { config, logger, service, store, queue, metrics, readiness }
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
