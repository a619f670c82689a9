/**
 * The render-queue port's contract, run against every implementation: the in-process pool,
 * BullMQ (a real Redis, a real worker), and BullMQ behind the Redis fallback (what a node runs). Sequencing is event-driven (a render says when it starts;
 * a queue says when it holds a job), never by sleeping.
 */
import { readFile, rm } from 'node:fs/promises'
import path from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { createClusterQueue } from '../../src/app/cluster.js'
import { TtsError } from '../../src/core/errors.js'
import type { RenderJob, RenderQueue, RenderedAudio } from '../../src/core/ports/index.js'
import { BullMqRenderQueue, type ClusterRenderOptions } from '../../src/queue/bullmq/render-queue.js'
import { BullMqRenderWorker } from '../../src/queue/bullmq/render-worker.js'
import { InProcessRenderPool } from '../../src/queue/in-process/render-pool.js'
import { clusterConfig, tempDir } from '../harness/redis/test-nodes.js'
import { CountingRenderer } from '../fakes/counting-renderer.js'
import { jobFor } from '../harness/queue/render-jobs.js'
import { testLogger } from '../fakes/loggers.js'
import { wavFor } from '../fakes/wav.js'
import { startTestRedis, uniquePrefix, type TestRedis } from '../harness/redis/server.js'
import { redisSharedAudio } from '../../src/app/shared-audio-tier.js'

interface Harness {
  readonly queue: RenderQueue
  readonly renderer: CountingRenderer
  /** Starts a render; `accepted` resolves once the backend holds the job (queued or running). */
  render(job: RenderJob, options: ClusterRenderOptions): { result: Promise<RenderedAudio>; accepted: Promise<void> }
  close(): Promise<void>
}

interface HarnessOptions {
  readonly concurrency: number
  readonly queueLimit: number
}

type Factory = (options: HarnessOptions) => Promise<Harness>

let redis: TestRedis
beforeAll(async () => {
  redis = await startTestRedis()
})
afterAll(async () => {
  await redis.stop()
})

const inProcess: Factory = async ({ concurrency, queueLimit }) => {
  const renderer = new CountingRenderer()
  const queue = new InProcessRenderPool({ renderer: renderer.render, concurrency, queueLimit, logger: testLogger() })
  return {
    queue,
    renderer,
    // The pool queues synchronously inside render().
    render: (job, options) => ({ result: queue.render(job, options), accepted: Promise.resolve() }),
    close: () => queue.close(1000),
  }
}

const bullmq: Factory = async ({ concurrency, queueLimit }) => {
  const renderer = new CountingRenderer()
  const logger = testLogger()
  const prefix = uniquePrefix('contract')
  const queue = new BullMqRenderQueue({ redisUrl: redis.url, prefix, sharedAudio: redisSharedAudio(prefix, 600), limit: queueLimit + concurrency, concurrency, logger })
  const worker = new BullMqRenderWorker({ redisUrl: redis.url, prefix, sharedAudio: redisSharedAudio(prefix, 600), concurrency, renderer: renderer.render, logger })
  await Promise.all([queue.whenStarted(), worker.whenReady()])
  return {
    queue,
    renderer,
    render: (job, options) => {
      let accept: () => void = () => undefined
      const accepted = new Promise<void>((resolve) => {
        accept = resolve
      })
      return { result: queue.render(job, { ...options, onAccepted: accept }), accepted }
    },
    close: async () => {
      renderer.release()
      await worker.close(1000)
      await queue.close(1000)
    },
  }
}

/** What a node really uses with REDIS_URL: BullMQ behind the fallback, with an in-process worker. */
const clusterQueue: Factory = async ({ concurrency, queueLimit }) => {
  const renderer = new CountingRenderer()
  const logger = testLogger()
  const local = new InProcessRenderPool({ renderer: new CountingRenderer().render, concurrency, queueLimit, logger })
  const config = clusterConfig(redis.url, uniquePrefix('contract-fallback'), { workersInProcess: true, workerConcurrency: concurrency, queueLimit })
  const queue = createClusterQueue({ config, logger, local, renderer: renderer.render })
  await Promise.all([queue.cluster.whenStarted(), queue.worker?.whenReady()])
  return {
    queue,
    renderer,
    render: (job, options) => {
      let accept: () => void = () => undefined
      const accepted = new Promise<void>((resolve) => {
        accept = resolve
      })
      return { result: queue.render(job, { ...options, onAccepted: accept } as ClusterRenderOptions), accepted }
    },
    close: async () => {
      renderer.release()
      await queue.close(1000)
    },
  }
}

const implementations: [string, Factory][] = [
  ['in-process pool', inProcess],
  ['BullMQ', bullmq],
  ['BullMQ behind the Redis fallback', clusterQueue],
]

describe.each(implementations)('RenderQueue contract: %s', (_name, factory) => {
  let harness: Harness | undefined
  let dir: string

  const open = async (options: HarnessOptions = { concurrency: 2, queueLimit: 100 }): Promise<Harness> => {
    dir = await tempDir('contract')
    harness = await factory(options)
    return harness
  }
  const out = (name: string): string => path.join(dir, `${name}.wav`)

  afterEach(async () => {
    harness?.renderer.release()
    await harness?.close()
    harness = undefined
    await rm(dir, { recursive: true, force: true })
  })

  it('renders the job into outPath and reports its size and duration', async () => {
    const h = await open()
    const job = jobFor('Your call is important to us.', out('a'))
    const audio = await h.render(job, { priority: 'live' }).result
    const expected = wavFor(job.request.text)
    expect(audio.bytes).toBe(expected.byteLength)
    expect(audio.durationMs).toBeGreaterThan(0)
    expect(await readFile(job.outPath)).toEqual(expected)
    expect(h.renderer.runs).toBe(1)
  })

  it("rejects with the renderer's error code and message when the render fails", async () => {
    const h = await open()
    h.renderer.failWith('broken', () => new TtsError('TTS_ERR_RENDER_FAILED', { args: ['espeak-ng', 'exit code 3'] }))
    const failure = h.render(jobFor('broken', out('b')), { priority: 'live' }).result
    await expect(failure).rejects.toMatchObject({ code: 'TTS_ERR_RENDER_FAILED', message: 'engine espeak-ng failed: exit code 3' })
  })

  it('does not let a failed render poison the key: the next render tries again', async () => {
    const h = await open()
    h.renderer.failWith('flaky', () => new TtsError('TTS_ERR_RENDER_TIMEOUT', { args: ['espeak-ng', 100] }))
    await expect(h.render(jobFor('flaky', out('c1')), { priority: 'live' }).result).rejects.toMatchObject({ code: 'TTS_ERR_RENDER_TIMEOUT' })
    h.renderer.succeed('flaky')
    const audio = await h.render(jobFor('flaky', out('c2')), { priority: 'live' }).result
    expect(audio.bytes).toBe(wavFor('flaky').byteLength)
    expect(h.renderer.runsByText.get('flaky')).toBe(2)
  })

  it('runs waiting live jobs before waiting pre-warm jobs', async () => {
    const h = await open({ concurrency: 1, queueLimit: 100 })
    h.renderer.hold()
    const first = h.render(jobFor('first', out('first')), { priority: 'live' })
    await h.renderer.nextStart('first')
    const p1 = h.render(jobFor('prewarm one', out('p1')), { priority: 'prewarm' })
    const p2 = h.render(jobFor('prewarm two', out('p2')), { priority: 'prewarm' })
    await Promise.all([p1.accepted, p2.accepted])
    const live = h.render(jobFor('live call', out('l')), { priority: 'live' })
    await live.accepted
    h.renderer.release()
    await Promise.all([first.result, p1.result, p2.result, live.result])
    expect(h.renderer.order).toEqual(['first', 'live call', 'prewarm one', 'prewarm two'])
  })

  it('rejects a waiter whose signal aborts with TTS_ERR_ABORTED', async () => {
    const h = await open()
    h.renderer.hold()
    const controller = new AbortController()
    const pending = h.render(jobFor('abandoned', out('d')), { priority: 'live', signal: controller.signal })
    await h.renderer.nextStart('abandoned')
    controller.abort()
    await expect(pending.result).rejects.toMatchObject({ code: 'TTS_ERR_ABORTED' })
  })

  it('rejects with TTS_ERR_OVERLOADED once its limit of waiting work is reached', async () => {
    const h = await open({ concurrency: 1, queueLimit: 1 })
    h.renderer.hold()
    const running = h.render(jobFor('one', out('o1')), { priority: 'live' })
    await h.renderer.nextStart('one')
    const waiting = h.render(jobFor('two', out('o2')), { priority: 'live' })
    await waiting.accepted
    await expect(h.render(jobFor('three', out('o3')), { priority: 'live' }).result).rejects.toMatchObject({ code: 'TTS_ERR_OVERLOADED' })
    h.renderer.release()
    await Promise.all([running.result, waiting.result])
  })

  it('counts the work it holds in stats, and none once it is done', async () => {
    const h = await open({ concurrency: 1, queueLimit: 5 })
    h.renderer.hold()
    const running = h.render(jobFor('stats one', out('s1')), { priority: 'live' })
    await h.renderer.nextStart('stats one')
    const waiting = h.render(jobFor('stats two', out('s2')), { priority: 'live' })
    await waiting.accepted
    const busy = h.queue.stats()
    // How the two split between waiting and active may lag (BullMQ learns it from events).
    expect(busy.waiting + busy.active).toBe(2)
    expect(busy.concurrency).toBe(1)
    expect(busy.limit).toBeGreaterThanOrEqual(1)
    h.renderer.release()
    await Promise.all([running.result, waiting.result])
    expect(h.queue.stats().waiting).toBe(0)
  })

  it('rejects renders with TTS_ERR_SHUTTING_DOWN after close', async () => {
    const h = await open()
    await h.queue.close(100)
    await expect(h.queue.render(jobFor('late', out('late')), { priority: 'live' })).rejects.toMatchObject({ code: 'TTS_ERR_SHUTTING_DOWN' })
  })
})
