/**
 * The root picks the shared audio tier and hands it to the BullMQ queue and worker; an app (and a
 * worker) given its own tier through the overrides uses that one on both sides.
 */
import { rm } from 'node:fs/promises'
import { Redis } from 'ioredis'
import type { Logger as PinoLogger } from 'pino'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildApp } from '../../src/app/build-app.js'
import { sharedAudioTier } from '../../src/app/shared-audio-tier.js'
import { loadConfig } from '../../src/config/load-config.js'
import type { RenderedAudio, SharedAudio, SharedDelivery, SharedWav, StagedWav } from '../../src/core/ports/index.js'
import { redisAudioKey, SharedDirAudio } from '../../src/store/shared/index.js'
import { CountingRenderer } from '../fakes/counting-renderer.js'
import { fixedCatalog } from '../fakes/engine-catalogs.js'
import { testLogger } from '../fakes/loggers.js'
import { wavFor } from '../fakes/wav.js'
import { SAMPLE_RATE } from '../harness/queue/render-jobs.js'
import { tempDir } from '../harness/redis/test-nodes.js'
import { startTestRedis, uniquePrefix, type TestRedis } from '../harness/redis/server.js'

/** A tier that records which of its methods were called, over a real one. */
class RecordingTier implements SharedAudio {
  readonly calls: string[] = []
  readonly #inner: SharedAudio
  constructor(inner: SharedAudio) {
    this.#inner = inner
  }
  get transport(): SharedAudio['transport'] {
    return this.#inner.transport
  }
  findPublished(key: string, sampleRate: number): Promise<SharedWav | undefined> {
    this.calls.push('findPublished')
    return this.#inner.findPublished(key, sampleRate)
  }
  jobTarget(outPath: string): string | undefined {
    this.calls.push('jobTarget')
    return this.#inner.jobTarget(outPath)
  }
  collect(key: string, sampleRate: number, finished: Pick<RenderedAudio, 'bytes' | 'durationMs'> | undefined): Promise<SharedDelivery | undefined> {
    this.calls.push('collect')
    return this.#inner.collect(key, sampleRate, finished)
  }
  writeTo(outPath: string, audio: SharedWav): Promise<RenderedAudio> {
    this.calls.push('writeTo')
    return this.#inner.writeTo(outPath, audio)
  }
  fetch(key: string): Promise<SharedWav | undefined> {
    this.calls.push('fetch')
    return this.#inner.fetch(key)
  }
  stagingPath(key: string, target: string | undefined, unique: string): Promise<string> {
    this.calls.push('stagingPath')
    return this.#inner.stagingPath(key, target, unique)
  }
  publish(key: string, staged: StagedWav, target: string | undefined): Promise<void> {
    this.calls.push('publish')
    return this.#inner.publish(key, staged, target)
  }
  remove(key: string): Promise<void> {
    this.calls.push('remove')
    return this.#inner.remove(key)
  }
}

describe('sharedAudioTier (the root picks the tier)', () => {
  const settings = { prefix: 'p', audioTtlSeconds: 1, sharedCacheDir: '/srv/tts-cache' }

  it('gives a shared directory for the shared-dir transport, rooted on the worker side only', () => {
    expect(sharedAudioTier({ ...settings, transport: 'shared-dir' }, 'node')).toBeInstanceOf(SharedDirAudio)
    expect(sharedAudioTier({ ...settings, transport: 'shared-dir' }, 'worker')).toBeInstanceOf(SharedDirAudio)
  })

  it('gives the Redis tier as a builder over the audio connection the queue or worker opens', () => {
    const source = sharedAudioTier({ ...settings, transport: 'redis' }, 'node')
    expect(typeof source).toBe('function')
    const client = {} as Parameters<Extract<typeof source, (...args: never[]) => unknown>>[0]['client']
    const tier = typeof source === 'function' ? source({ client, logger: testLogger() }) : source
    expect(tier.transport).toBe('redis')
  })

  it('is refused at start on a worker that has no shared cache dir', () => {
    const make = (): unknown => sharedAudioTier({ ...settings, transport: 'shared-dir', sharedCacheDir: undefined }, 'worker')
    expect(make).toThrow(expect.objectContaining({ code: 'TTS_ERR_CONFIG' }) as Error)
  })
})

describe('buildApp with a sharedAudio override', () => {
  let redis: TestRedis
  beforeAll(async () => {
    redis = await startTestRedis()
  })
  afterAll(async () => {
    await redis.stop()
  })

  it('renders through the cluster with the given tier on the node and the in-process worker, not the configured Redis tier', async () => {
    const dir = await tempDir('shared-override')
    const prefix = uniquePrefix('shared-override')
    const config = loadConfig({
      env: {},
      overrides: { cacheDir: dir, engine: 'espeak-ng', voice: '', sampleRate: SAMPLE_RATE, redisUrl: redis.url, redisPrefix: prefix, workersInProcess: true, clusterAudio: 'redis' },
    })
    const tier = new RecordingTier(new SharedDirAudio({ root: dir }))
    const engine = new CountingRenderer()
    const app = await buildApp(config, { logger: testLogger() as unknown as PinoLogger, defaultMetrics: false, engines: fixedCatalog(), renderer: engine.render, sharedAudio: tier })
    const probe = new Redis(redis.url)
    try {
      expect(app.cluster?.cluster.sharedAudio).toBe(tier)
      const text = 'Through the given tier.'
      const result = await app.service.get({ text }, { source: 'http' })
      expect(engine.runs).toBe(1)
      expect(app.cluster?.cluster.counters().jobsAdded).toBe(1)
      // Node side (job target, collect) and worker side (staging, publish) both went through it.
      expect(tier.calls).toEqual(expect.arrayContaining(['jobTarget', 'collect', 'stagingPath', 'publish']))
      expect(await app.store.lookup(result.key)).toMatchObject({ bytes: wavFor(text).byteLength })
      // The configured Redis tier would have published the bytes under the audio key.
      expect(await probe.exists(redisAudioKey(prefix, result.key))).toBe(0)
    } finally {
      probe.disconnect()
      await app.close(2000)
      await rm(dir, { recursive: true, force: true })
    }
  })
})
