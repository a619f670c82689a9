/**
 * Redis dies mid-run and comes back: hits keep being served from local disk, misses fall back to
 * the node's in-process pool (or fail fast, as configured), a render waiting on the cluster when
 * Redis dies is finished locally, readiness says "degraded", and once Redis returns (same port,
 * empty) new misses take the cluster path again, without a restart. Which backend rendered is
 * read from per-backend counters, never from timing. A frozen Redis (SIGSTOP): test/faults/redis-frozen.test.ts.
 */
import { readFile, rm } from 'node:fs/promises'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ReadinessCheck } from '../../../src/core/ports/index.js'
import type { ClusterQueue } from '../../../src/app/cluster.js'
import { startWorker } from '../../../src/app/build-worker.js'
import { CountingRenderer } from '../../fakes/counting-renderer.js'
import { jobFor } from '../../harness/queue/render-jobs.js'
import { clusterConfig, startTestNode, startWorkerAndClientNodes, tempDir } from '../../harness/redis/test-nodes.js'
import { testLogger } from '../../fakes/loggers.js'
import { wavFor } from '../../fakes/wav.js'
import { redisServerInstalled, uniquePrefix } from '../../harness/redis/server.js'
import { redisPerTest } from '../../harness/redis/per-test.js'

/** Resolves once the queue's readiness is in `state` (at once if it already is). */
function readinessState(queue: ClusterQueue, state: 'ok' | 'degraded'): Promise<ReadinessCheck> {
  const now = queue.readiness()
  if (now.state === state) return Promise.resolve(now)
  return new Promise((resolve) => {
    const off = queue.onReadinessChange((check) => {
      if (check.state !== state) return
      off()
      resolve(check)
    })
  })
}

describe.skipIf(!redisServerInstalled())('Redis outage', () => {
  // Each test kills or freezes its own redis-server (REDIS_URL or a container cannot be killed here).
  const { redis, cleanups } = redisPerTest()
  const unhandled: unknown[] = []
  const onUnhandled = (reason: unknown): void => {
    unhandled.push(reason)
  }
  beforeAll(() => {
    process.on('unhandledRejection', onUnhandled)
  })
  afterAll(() => {
    process.off('unhandledRejection', onUnhandled)
  })

  it('serves hits, falls back or fails fast on misses while Redis is down, and uses the cluster again once it is back', async () => {
    const prefix = uniquePrefix('outage')
    const clusterEngine = new CountingRenderer()
    // A: falls back to its local pool, runs the cluster's worker in-process. B: fails fast, no worker.
    const { a, b } = await startWorkerAndClientNodes({
      redisUrl: redis().url,
      prefix,
      renderer: clusterEngine,
      cleanups,
      configA: { redisFallback: 'local' },
      configB: { redisFallback: 'fail' },
    })

    // Redis up: both nodes go through the cluster; one render, shared.
    expect((await a.service.get({ text: 'Main menu.' })).status).toBe('rendered')
    // b finds the audio a's render left in the cluster: a hit, not a render.
    expect((await b.service.get({ text: 'Main menu.' })).status).toBe('hit')
    expect(clusterEngine.runs).toBe(1)
    expect(a.queue.backendCounts()).toMatchObject({ cluster: 1, local: 0 })
    expect(b.queue.backendCounts()).toMatchObject({ cluster: 1, failedFast: 0 })
    expect(a.queue.readiness()).toMatchObject({ ok: true, state: 'ok' })

    // A miss is rendering on the cluster when Redis dies.
    clusterEngine.hold()
    const inFlight = a.service.get({ text: 'Caught in the outage.' })
    await clusterEngine.nextStart('Caught in the outage.')
    await redis().kill('SIGKILL')
    const [degradedA, degradedB] = await Promise.all([readinessState(a.queue, 'degraded'), readinessState(b.queue, 'degraded')])
    expect(degradedA).toMatchObject({ ok: true, state: 'degraded' })
    expect(degradedA.detail).toContain('misses render on this node')
    expect(degradedB.detail).toContain('TTS_ERR_QUEUE_UNAVAILABLE')

    // …it is finished by A's local pool (the cluster's render of it was started, never published).
    expect((await inFlight).status).toBe('rendered')
    expect(a.localRenderer.runsByText.get('Caught in the outage.')).toBe(1)
    expect(clusterEngine.runsByText.get('Caught in the outage.')).toBe(1)

    // Hits never touch a queue.
    expect((await a.service.get({ text: 'Main menu.' })).status).toBe('hit')
    expect((await b.service.get({ text: 'Main menu.' })).status).toBe('hit')

    // Misses: A renders locally, B fails fast with the documented code.
    expect((await a.service.get({ text: 'Rendered while Redis is down.' })).status).toBe('rendered')
    expect(a.localRenderer.runsByText.get('Rendered while Redis is down.')).toBe(1)
    await expect(b.service.get({ text: 'Asked while Redis is down.' })).rejects.toMatchObject({ code: 'TTS_ERR_QUEUE_UNAVAILABLE', status: 503 })
    expect(a.queue.backendCounts()).toMatchObject({ cluster: 1, local: 2 })
    expect(b.queue.backendCounts()).toMatchObject({ cluster: 1, failedFast: 1 })

    // Redis returns on the same port (empty): both nodes recover without a restart.
    clusterEngine.release()
    await redis().restart()
    await Promise.all([readinessState(a.queue, 'ok'), readinessState(b.queue, 'ok')])
    const runsBefore = clusterEngine.runs
    expect((await a.service.get({ text: 'After the storm.' })).status).toBe('rendered')
    expect((await b.service.get({ text: 'After the storm, on B.' })).status).toBe('rendered')
    expect(clusterEngine.runs - runsBefore).toBe(2)
    expect(a.queue.backendCounts()).toMatchObject({ cluster: 2, local: 2 })
    expect(b.queue.backendCounts()).toMatchObject({ cluster: 2, failedFast: 1 })
    expect(unhandled).toEqual([])
  })

  it('adds a pending job again when Redis comes back empty, so its waiter is not stranded', async () => {
    const prefix = uniquePrefix('empty')
    const logger = testLogger()
    const dir = await tempDir('empty')
    cleanups.push(() => rm(dir, { recursive: true, force: true }))
    // A node from buildApp, asked through its BullMQ side alone (no fallback): it waits through the outage.
    const serving = await startTestNode({ redisUrl: redis().url, prefix, logger })
    cleanups.push(() => serving.close())
    const node = serving.queue.cluster
    const engine = new CountingRenderer()
    const worker = startWorker({ config: clusterConfig(redis().url, prefix, { audioTtlSeconds: 600, workerConcurrency: 2 }), logger, renderer: engine.render })
    cleanups.push(() => worker.close(1000))
    cleanups.push(async () => engine.release())
    await Promise.all([node.whenStarted(), worker.whenReady()])

    engine.hold()
    const job = jobFor('Lost and found.', path.join(dir, 'out.wav'))
    const rendering = node.render(job, { priority: 'live' })
    await engine.nextStart('Lost and found.')
    await redis().kill('SIGKILL')
    await redis().restart()
    // The restarted Redis has no job: the node re-checks on reconnect and adds it again.
    await engine.nextStart('Lost and found.')
    engine.release()
    expect((await rendering).bytes).toBe(wavFor('Lost and found.').byteLength)
    expect(await readFile(job.outPath)).toEqual(wavFor('Lost and found.'))
    expect(node.counters().jobsAdded).toBe(2)
    expect(unhandled).toEqual([])
  })
})
