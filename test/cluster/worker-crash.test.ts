/**
 * A render worker killed mid-job (SIGKILL, a separate OS process): its job's lock lapses, the
 * stalled-job check of another worker moves it back to wait, that worker renders it, and the
 * waiting node gets complete audio. Nothing partial is ever published. Stall detection is
 * shortened (FAST_STALL: lockDuration 1 s, stalledInterval 0.5 s) so this happens within a test.
 */
import { access, readFile, rm } from 'node:fs/promises'
import path from 'node:path'
import { Redis } from 'ioredis'
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest'
import { BullMqRenderQueue } from '../../src/queue/bullmq/render-queue.js'
import { BullMqRenderWorker } from '../../src/queue/bullmq/render-worker.js'
import { spawnClusterChild, type ClusterChild } from '../harness/redis-child.js'
import { CountingRenderer, FAST_STALL, jobFor, tempDir, testLogger, wavFor } from '../support/redis-fixtures.js'
import { startTestRedis, uniquePrefix, type TestRedis } from '../harness/redis-server.js'
import { redisAudioKey } from '../../src/store/shared/index.js'
import { redisSharedAudio } from '../../src/app/shared-audio-tier.js'

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

it('retries the job of a worker killed mid-render on another worker, and publishes only complete audio', async () => {
  const prefix = uniquePrefix('crash')
  const logger = testLogger()
  const dir = await tempDir('crash')
  cleanups.push(() => rm(dir, { recursive: true, force: true }))
  const node = new BullMqRenderQueue({ redisUrl: redis.url, prefix, sharedAudio: redisSharedAudio(prefix, 600), limit: 10, logger })
  cleanups.push(() => node.close(1000))
  const probe = new Redis(redis.url)
  cleanups.push(() => probe.quit())

  const doomed: ClusterChild = spawnClusterChild('redis-cluster-worker.ts', [redis.url, prefix, 'hang'])
  cleanups.push(() => doomed.kill('SIGKILL'))
  await Promise.all([doomed.next('ready'), node.whenStarted()])

  const text = 'Please stay on the line.'
  const job = jobFor(text, path.join(dir, 'out.wav'))
  const rendering = node.render(job, { priority: 'live' })
  const started = await doomed.next('started')
  expect(started['key']).toBe(job.key)
  // The doomed worker has half a WAV in its temp file; nothing is published.
  const doomedTemp = started['outPath'] as string
  cleanups.push(() => rm(path.dirname(doomedTemp), { recursive: true, force: true }))
  await access(doomedTemp)
  expect(await probe.exists(redisAudioKey(prefix, job.key))).toBe(0)

  expect(await doomed.kill('SIGKILL')).toBe('SIGKILL')
  expect(await probe.exists(redisAudioKey(prefix, job.key))).toBe(0)

  const survivorEngine = new CountingRenderer()
  const survivor = new BullMqRenderWorker({
    redisUrl: redis.url,
    prefix,
    sharedAudio: redisSharedAudio(prefix, 600),
    concurrency: 1,
    renderer: survivorEngine.render,
    logger,
    ...FAST_STALL,
  })
  cleanups.push(() => survivor.close(1000))

  const audio = await rendering
  expect(survivorEngine.runs).toBe(1)
  expect(audio.bytes).toBe(wavFor(text).byteLength)
  expect(await readFile(job.outPath)).toEqual(wavFor(text))
  const published = await probe.hgetBuffer(redisAudioKey(prefix, job.key), 'wav')
  expect(published).toEqual(wavFor(text))
})
