/**
 * BullMQ-specific behaviour of the cluster queue, on a real Redis: one job per key across nodes,
 * the same error everywhere, published audio as a cluster hit, finished jobs never poisoning a
 * key, priorities, and the worker's refusals.
 */
import { readFile, rm } from 'node:fs/promises'
import path from 'node:path'
import { Queue, QueueEvents } from 'bullmq'
import { Redis } from 'ioredis'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { TtsError } from '../../../src/core/errors.js'
import { decodeFailure, encodeFailure, jobIdFor, parseJobData, RENDER_QUEUE_NAME } from '../../../src/queue/bullmq/job-codec.js'
import { BullMqRenderQueue, type BullMqRenderQueueOptions, type ClusterRenderOptions } from '../../../src/queue/bullmq/render-queue.js'
import { BullMqRenderWorker, type BullMqRenderWorkerOptions } from '../../../src/queue/bullmq/render-worker.js'
import { CountingRenderer } from '../../fakes/counting-renderer.js'
import { fixedCatalog } from '../../fakes/engine-catalogs.js'
import { jobFor, requestFor } from '../../harness/queue/render-jobs.js'
import { tempDir } from '../../harness/redis/test-nodes.js'
import { testLogger } from '../../fakes/loggers.js'
import { wavFor } from '../../fakes/wav.js'
import { startTestRedis, uniquePrefix, type TestRedis } from '../../harness/redis/server.js'
import { redisAudioKey, SharedDirAudio } from '../../../src/store/shared/index.js'
import { redisSharedAudio } from '../../../src/app/shared-audio-tier.js'

let redis: TestRedis
beforeAll(async () => {
  redis = await startTestRedis()
})
afterAll(async () => {
  await redis.stop()
})

const cleanups: (() => Promise<unknown>)[] = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

interface Setup {
  readonly prefix: string
  readonly dir: string
  readonly renderer: CountingRenderer
  node(options?: Partial<BullMqRenderQueueOptions>): Promise<BullMqRenderQueue>
  worker(options?: Partial<BullMqRenderWorkerOptions>): Promise<BullMqRenderWorker>
  /** A plain ioredis client on the test Redis. */
  client(): Redis
  out(name: string): string
}

async function setup(label: string): Promise<Setup> {
  const prefix = uniquePrefix(label)
  const dir = await tempDir(label)
  const renderer = new CountingRenderer()
  const logger = testLogger()
  cleanups.push(() => rm(dir, { recursive: true, force: true }))
  cleanups.push(async () => renderer.release())
  return {
    prefix,
    dir,
    renderer,
    async node(options = {}) {
      const queue = new BullMqRenderQueue({ redisUrl: redis.url, prefix, sharedAudio: redisSharedAudio(prefix, 600), limit: 100, logger, ...options })
      cleanups.push(() => queue.close(1000))
      await queue.whenStarted()
      return queue
    },
    async worker(options = {}) {
      const worker = new BullMqRenderWorker({ redisUrl: redis.url, prefix, sharedAudio: redisSharedAudio(prefix, 600), concurrency: 2, renderer: renderer.render, logger, ...options })
      cleanups.push(() => worker.close(1000))
      await worker.whenReady()
      return worker
    },
    client() {
      const client = new Redis(redis.url)
      cleanups.push(() => client.quit())
      return client
    },
    out: (name) => path.join(dir, `${name}.wav`),
  }
}

/** Render with a promise that resolves once Redis holds the job. */
function renderTracked(queue: BullMqRenderQueue, job: Parameters<BullMqRenderQueue['render']>[0], options: ClusterRenderOptions) {
  let accept: () => void = () => undefined
  const accepted = new Promise<void>((resolve) => {
    accept = resolve
  })
  return { result: queue.render(job, { ...options, onAccepted: accept }), accepted }
}

describe('job ids', () => {
  it('derives an id BullMQ accepts even for an all-digit key, and never with a colon', async () => {
    const s = await setup('ids')
    const digits = '1'.repeat(64)
    const id = jobIdFor(digits)
    expect(id).not.toContain(':')
    expect(String(Number.parseInt(id, 10))).not.toBe(id)
    const queue = new Queue(RENDER_QUEUE_NAME, { connection: s.client(), prefix: s.prefix })
    cleanups.push(() => queue.close())
    const job = await queue.add('render', {}, { jobId: id })
    expect(job.id).toBe(id)
  })

  it('refuses to build a job id from something that is not a cache key', () => {
    expect(() => jobIdFor('12:34')).toThrow(expect.objectContaining({ code: 'TTS_ERR_INVALID_KEY' }))
  })
})

describe('one render per key across nodes', () => {
  it('makes one job and one render for concurrent requests on two nodes, and wakes both', async () => {
    const s = await setup('dedupe')
    const [a, b] = [await s.node(), await s.node()]
    await s.worker()
    s.renderer.hold()
    const job = (name: string) => jobFor('Please hold the line.', s.out(name))
    const onA = renderTracked(a, job('a'), { priority: 'live' })
    const onB = renderTracked(b, job('b'), { priority: 'live' })
    await Promise.all([onA.accepted, onB.accepted])
    s.renderer.release()
    await Promise.all([onA.result, onB.result])
    expect(s.renderer.runs).toBe(1)
    expect(await readFile(s.out('a'))).toEqual(await readFile(s.out('b')))
  })

  it('gives every waiting node the same error when the render fails', async () => {
    const s = await setup('same-error')
    const [a, b] = [await s.node(), await s.node()]
    await s.worker()
    s.renderer.hold()
    s.renderer.failWith('bad input', () => new TtsError('TTS_ERR_INVALID_AUDIO', { args: ['espeak-ng', 'no RIFF header'], details: { exitCode: 0 } }))
    const onA = renderTracked(a, jobFor('bad input', s.out('a')), { priority: 'live' })
    const onB = renderTracked(b, jobFor('bad input', s.out('b')), { priority: 'live' })
    await Promise.all([onA.accepted, onB.accepted])
    s.renderer.release()
    const [errA, errB] = await Promise.all([onA.result.catch((e: unknown) => e), onB.result.catch((e: unknown) => e)])
    expect(s.renderer.runs).toBe(1)
    for (const err of [errA, errB]) {
      expect(err).toBeInstanceOf(TtsError)
      expect(err).toMatchObject({ code: 'TTS_ERR_INVALID_AUDIO', message: 'engine espeak-ng produced no valid audio: no RIFF header', status: 502 })
      expect((err as TtsError).details).toMatchObject({ exitCode: 0, remote: true })
    }
  })
})

describe('published audio', () => {
  it('serves a key whose audio is still in Redis as a cluster hit, without a job or a render', async () => {
    const s = await setup('cluster-hit')
    const a = await s.node()
    const worker = await s.worker()
    await a.render(jobFor('Welcome back.', s.out('a')), { priority: 'live' })
    await worker.close(1000)
    const b = await s.node()
    await b.render(jobFor('Welcome back.', s.out('b')), { priority: 'live' })
    expect(s.renderer.runs).toBe(1)
    expect(b.counters()).toMatchObject({ sharedHits: 1, jobsAdded: 0 })
    expect(await readFile(s.out('b'))).toEqual(wavFor('Welcome back.'))
  })

  it('renders again when the published audio was evicted', async () => {
    const s = await setup('evicted')
    const a = await s.node()
    await s.worker()
    const job = jobFor('Goodbye.', s.out('a'))
    await a.render(job, { priority: 'live' })
    await s.client().del(redisAudioKey(s.prefix, job.key))
    await a.render(jobFor('Goodbye.', s.out('b')), { priority: 'live' })
    expect(s.renderer.runs).toBe(2)
  })

  it('drops published audio that is not a valid WAV and renders again', async () => {
    const s = await setup('garbage')
    const a = await s.node()
    await s.worker()
    const job = jobFor('Checking.', s.out('a'))
    await s.client().hset(redisAudioKey(s.prefix, job.key), 'wav', Buffer.from('not a wav'), 'durationMs', '10')
    await a.render(job, { priority: 'live' })
    expect(s.renderer.runs).toBe(1)
    expect(await readFile(job.outPath)).toEqual(wavFor('Checking.'))
  })

  it('renders again on a forced refresh even though the audio is published', async () => {
    const s = await setup('refresh')
    const a = await s.node()
    await s.worker()
    await a.render(jobFor('Fresh.', s.out('a')), { priority: 'live' })
    await a.render(jobFor('Fresh.', s.out('b')), { priority: 'live', refresh: true })
    expect(s.renderer.runs).toBe(2)
  })

  it('with the shared-dir transport, moves the WAV into the node temp path and puts no audio in Redis', async () => {
    const s = await setup('shared-dir')
    const a = await s.node({ sharedAudio: new SharedDirAudio() })
    await s.worker({ sharedAudio: new SharedDirAudio({ root: s.dir }) })
    const job = jobFor('On the shared disk.', path.join(s.dir, `${jobFor('On the shared disk.', '').key}.1.abc.tmp.wav`))
    const audio = await a.render(job, { priority: 'live' })
    expect(audio.bytes).toBe(wavFor('On the shared disk.').byteLength)
    expect(await readFile(job.outPath)).toEqual(wavFor('On the shared disk.'))
    expect(await s.client().exists(redisAudioKey(s.prefix, job.key))).toBe(0)
  })
})

describe('finished jobs never poison a key', () => {
  async function runKeptJob(s: Setup, text: string): Promise<void> {
    const connection = s.client()
    const queue = new Queue(RENDER_QUEUE_NAME, { connection, prefix: s.prefix })
    const events = new QueueEvents(RENDER_QUEUE_NAME, { connection: new Redis(redis.url, { maxRetriesPerRequest: null }), prefix: s.prefix })
    cleanups.push(async () => {
      await events.close()
      await queue.close()
    })
    await events.waitUntilReady()
    const request = requestFor(text)
    const job = jobFor(text, '')
    const data = { v: 1, key: job.key, request, engineVersion: job.engineVersion, refresh: false, node: 'test' }
    // Another deployment's retention: finished jobs are kept under the id.
    const added = await queue.add('render', data, { jobId: jobIdFor(job.key), removeOnComplete: false, removeOnFail: false })
    await added.waitUntilFinished(events).catch(() => undefined)
  }

  it('renders again when a kept completed job has lost its audio', async () => {
    const s = await setup('kept-completed')
    const a = await s.node()
    await s.worker()
    await runKeptJob(s, 'Kept.')
    const job = jobFor('Kept.', s.out('a'))
    await s.client().del(redisAudioKey(s.prefix, job.key))
    await a.render(job, { priority: 'live' })
    expect(s.renderer.runs).toBe(2)
    expect(await readFile(job.outPath)).toEqual(wavFor('Kept.'))
  })

  it('tries again when a failed job is kept under the key', async () => {
    const s = await setup('kept-failed')
    const a = await s.node()
    await s.worker()
    s.renderer.failWith('Once broken.', () => new TtsError('TTS_ERR_RENDER_FAILED', { args: ['espeak-ng', 'crash'] }))
    await runKeptJob(s, 'Once broken.')
    s.renderer.succeed('Once broken.')
    const job = jobFor('Once broken.', s.out('a'))
    await a.render(job, { priority: 'live' })
    expect(s.renderer.runs).toBe(2)
  })
})

describe('priorities', () => {
  it('raises a queued pre-warm job ahead of other pre-warm work when a live call asks for its key', async () => {
    const s = await setup('promote')
    const [a, b] = [await s.node(), await s.node()]
    await s.worker({ concurrency: 1 })
    s.renderer.hold()
    const first = renderTracked(a, jobFor('busy', s.out('busy')), { priority: 'live' })
    await s.renderer.nextStart('busy')
    const p1 = renderTracked(a, jobFor('pre one', s.out('p1')), { priority: 'prewarm' })
    const p2 = renderTracked(a, jobFor('pre two', s.out('p2')), { priority: 'prewarm' })
    await Promise.all([p1.accepted, p2.accepted])
    const live = renderTracked(b, jobFor('pre two', s.out('live')), { priority: 'live' })
    await live.accepted
    s.renderer.release()
    await Promise.all([first.result, p1.result, p2.result, live.result])
    expect(s.renderer.order).toEqual(['busy', 'pre two', 'pre one'])
  })
})

describe('worker refusals', () => {
  it('answers TTS_ERR_QUEUE_UNAVAILABLE when the workers run another engine version', async () => {
    const s = await setup('version')
    const a = await s.node()
    await s.worker({ engines: fixedCatalog('fixture-2') })
    await expect(a.render(jobFor('Versioned.', s.out('a')), { priority: 'live' })).rejects.toMatchObject({ code: 'TTS_ERR_QUEUE_UNAVAILABLE' })
    expect(s.renderer.runs).toBe(0)
  })

  it('fails a job whose key does not match its request, publishing nothing', async () => {
    const s = await setup('mismatch')
    await s.worker()
    const client = s.client()
    const queue = new Queue(RENDER_QUEUE_NAME, { connection: client, prefix: s.prefix })
    const events = new QueueEvents(RENDER_QUEUE_NAME, { connection: new Redis(redis.url, { maxRetriesPerRequest: null }), prefix: s.prefix })
    cleanups.push(async () => {
      await events.close()
      await queue.close()
    })
    await events.waitUntilReady()
    const honest = jobFor('honest', '')
    const data = { v: 1, key: honest.key, request: requestFor('forged'), engineVersion: honest.engineVersion, refresh: false, node: 'test' }
    const job = await queue.add('render', data, { jobId: jobIdFor(honest.key) })
    const reason = await job.waitUntilFinished(events).then(
      () => 'completed',
      (err: Error) => err.message,
    )
    expect(decodeFailure(job.id ?? '', reason, 'espeak-ng')).toMatchObject({ code: 'TTS_ERR_BAD_REQUEST' })
    expect(s.renderer.runs).toBe(0)
  })
})

describe('Redis unreachable', () => {
  it('rejects at once with TTS_ERR_QUEUE_UNAVAILABLE when Redis is not connected', async () => {
    const s = await setup('no-redis')
    const queue = new BullMqRenderQueue({ redisUrl: 'redis://127.0.0.1:1', prefix: s.prefix, sharedAudio: redisSharedAudio(s.prefix, 60), limit: 10, logger: testLogger() })
    cleanups.push(() => queue.close(100))
    expect(queue.available).toBe(false)
    await expect(queue.render(jobFor('nobody home', s.out('x')), { priority: 'live' })).rejects.toMatchObject({ code: 'TTS_ERR_QUEUE_UNAVAILABLE' })
  })
})

describe('job codec', () => {
  it('round-trips a TtsError through a failedReason', () => {
    const original = new TtsError('TTS_ERR_RENDER_TIMEOUT', { args: ['swift', 10000], details: { timedOut: true }, retryAfterSeconds: 2 })
    const decoded = decodeFailure('tts-x', encodeFailure(original), 'swift')
    expect(decoded).toMatchObject({ code: original.code, message: original.message, status: 504, retryAfterSeconds: 2 })
    expect(decoded.details).toMatchObject({ timedOut: true })
  })

  it("turns a reason BullMQ wrote itself into TTS_ERR_RENDER_FAILED naming the engine", () => {
    const decoded = decodeFailure('tts-x', 'job stalled more than allowable limit', 'espeak-ng')
    expect(decoded).toMatchObject({ code: 'TTS_ERR_RENDER_FAILED', message: 'engine espeak-ng failed: job stalled more than allowable limit' })
  })

  it('refuses job data that is not in the v1 format', () => {
    expect(() => parseJobData({ v: 2 })).toThrow(expect.objectContaining({ code: 'TTS_ERR_BAD_REQUEST' }))
    expect(() => parseJobData(null)).toThrow(expect.objectContaining({ code: 'TTS_ERR_BAD_REQUEST' }))
  })
})
