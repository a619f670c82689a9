/**
 * A frozen Redis (SIGSTOP: the sockets stay up, nothing answers) must cost a caller no more than
 * its own deadline: every Redis command has a timeout, a probe notices the freeze, and a miss
 * waiting on the cluster — even one whose job a worker had already taken — is rendered on this
 * node instead (once per key on the node: single-flight). Readiness says `degraded` meanwhile.
 * Once Redis answers again the cluster path is used at once, and a job whose worker lost its
 * lock in the freeze does not hold new callers until BullMQ's stalled-job check.
 *
 * No timing assertions: each wait ends on an event (an answer, a readiness change, a failed
 * probe), and every caller carries a short deadline (`DEADLINE_MS`) it must be answered within.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import type { ReadinessCheck } from '../../src/core/ports/index.js'
import type { ClusterQueue } from '../../src/app/cluster.js'
import { CountingRenderer } from '../fakes/counting-renderer.js'
import { startWorkerAndClientNodes, type TestNode } from '../harness/redis/test-nodes.js'
import { redisServerInstalled, spawnRedisServer, uniquePrefix, type SpawnedRedis } from '../harness/redis/server.js'

/** The callers' deadline: far above the detection bound (2 × COMMAND_TIMEOUT_MS), far below BullMQ's 30 s. */
const DEADLINE_MS = 5000
/** Short Redis command timeout for the tests (the default is 1000 ms). */
const COMMAND_TIMEOUT_MS = 200

function deadline(): AbortSignal {
  return AbortSignal.timeout(DEADLINE_MS)
}

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

/**
 * Resolves after `count` more probes of the node's Redis failed in a row. Each failed probe
 * waited COMMAND_TIMEOUT_MS for its reply, so this is a lower bound on how long Redis has been
 * frozen (what lets a job lock expire inside Redis) without a sleep.
 */
function failedProbes(queue: ClusterQueue, count: number): Promise<void> {
  let seen = 0
  return new Promise((resolve) => {
    const off = queue.cluster.health.onProbe((ok) => {
      seen = ok ? 0 : seen + 1
      if (seen < count) return
      off()
      resolve()
    })
  })
}

describe.skipIf(!redisServerInstalled())('Redis frozen (SIGSTOP)', () => {
  let redis: SpawnedRedis
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
  const cleanups: (() => Promise<unknown>)[] = []
  beforeEach(async () => {
    redis = await spawnRedisServer()
    cleanups.push(() => redis.stop())
  })
  afterEach(async () => {
    redis.resume()
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
  })

  async function twoNodes(clusterEngine: CountingRenderer, tuning?: { lockDurationMs: number; stalledIntervalMs: number }): Promise<{ a: TestNode; b: TestNode }> {
    const prefix = uniquePrefix('frozen')
    const timeouts = { redisCommandTimeoutMs: COMMAND_TIMEOUT_MS }
    // A: renders locally when Redis is away and runs the cluster's worker. B: no worker.
    return startWorkerAndClientNodes({
      redisUrl: redis.url,
      prefix,
      renderer: clusterEngine,
      cleanups,
      configA: { redisFallback: 'local', ...timeouts },
      configB: { redisFallback: 'fail', ...timeouts },
      workerTuning: tuning,
    })
  }

  it('renders locally, within the deadline, a miss whose job a worker had already taken; once per key on the node; readiness degraded; the cluster again after SIGCONT', async () => {
    const clusterEngine = new CountingRenderer()
    const { a, b } = await twoNodes(clusterEngine)
    expect((await a.service.get({ text: 'Before the freeze.' }, { signal: deadline() })).status).toBe('rendered')
    expect(clusterEngine.runs).toBe(1)

    // A worker has taken the job (its engine is running) when Redis freezes. One HTTP-style
    // caller and one ESL-style caller (keepAlive) wait for the same key.
    clusterEngine.hold()
    const text = 'Taken before the freeze.'
    const first = a.service.get({ text }, { signal: deadline() })
    const second = a.service.get({ text }, { signal: deadline(), keepAlive: true })
    await clusterEngine.nextStart(text)
    redis.pause()

    // Both are answered before their deadline, by one local render.
    expect((await first).status).toBe('rendered')
    expect((await second).status).toBe('coalesced')
    expect(a.localRenderer.runsByText.get(text)).toBe(1)
    // The probe that noticed the freeze is what sent them local: readiness says so.
    expect(a.queue.readiness()).toMatchObject({ ok: true, state: 'degraded' })
    expect((await readinessState(b.queue, 'degraded')).detail).toContain('TTS_ERR_QUEUE_UNAVAILABLE')

    // New misses while frozen: rendered here (A) or refused fast (B, `fail`). Hits are served.
    expect((await a.service.get({ text: 'Asked while frozen.' }, { signal: deadline() })).status).toBe('rendered')
    expect(a.localRenderer.runsByText.get('Asked while frozen.')).toBe(1)
    await expect(b.service.get({ text: 'Asked on B while frozen.' }, { signal: deadline() })).rejects.toMatchObject({ code: 'TTS_ERR_QUEUE_UNAVAILABLE', status: 503 })
    expect((await a.service.get({ text: 'Before the freeze.' }, { signal: deadline() })).status).toBe('hit')
    expect((await a.service.get({ text }, { signal: deadline() })).status).toBe('hit')

    // Thawed: readiness ok again, and the next miss goes through the cluster.
    redis.resume()
    clusterEngine.release()
    await Promise.all([readinessState(a.queue, 'ok'), readinessState(b.queue, 'ok')])
    expect((await b.service.get({ text: 'Thawed.' }, { signal: deadline() })).status).toBe('rendered')
    expect(clusterEngine.runsByText.get('Thawed.')).toBe(1)
    expect(b.localRenderer.runs).toBe(0)
    expect(a.queue.backendCounts()).toMatchObject({ cluster: 1, local: 2 })
    expect(b.queue.backendCounts()).toMatchObject({ cluster: 1, failedFast: 1 })
    expect(unhandled).toEqual([])
  })

  it('does not hold callers until the stalled-job check when a freeze outlived the job lock', async () => {
    // A 1 s job lock and a stalled check every 60 s: without help, a job whose worker lost its
    // lock in the freeze would keep every caller of its key waiting up to a minute.
    const clusterEngine = new CountingRenderer()
    const { a, b } = await twoNodes(clusterEngine, { lockDurationMs: 1000, stalledIntervalMs: 60_000 })
    clusterEngine.hold()
    const text = 'Outlived its lock.'
    const asked = a.service.get({ text }, { signal: deadline() })
    await clusterEngine.nextStart(text)
    const frozenLongEnough = failedProbes(a.queue, Math.ceil(1000 / COMMAND_TIMEOUT_MS) + 2)
    redis.pause()
    expect((await asked).status).toBe('rendered')
    await frozenLongEnough

    redis.resume()
    await readinessState(b.queue, 'ok')
    // B never had the phrase, and the frozen worker is still rendering it (its engine is held):
    // B joins the job that worker lost, which is handed out again at once — a worker starts it
    // anew — instead of waiting for BullMQ's stalled-job check.
    const onB = b.service.get({ text }, { signal: deadline() })
    await Promise.race([clusterEngine.nextStart(text), onB])
    clusterEngine.release()
    expect((await onB).status).toBe('rendered')
    expect(clusterEngine.runsByText.get(text)).toBe(2)
    expect(b.localRenderer.runs).toBe(0)
    expect(unhandled).toEqual([])
  })

  it('stays degraded when the frozen Redis is killed, and uses the cluster again once it is restarted', async () => {
    const clusterEngine = new CountingRenderer()
    const { a, b } = await twoNodes(clusterEngine)
    redis.pause()
    expect((await a.service.get({ text: 'Frozen, then killed.' }, { signal: deadline() })).status).toBe('rendered')
    expect(a.queue.readiness().state).toBe('degraded')
    await redis.kill('SIGKILL')
    expect((await a.service.get({ text: 'Killed.' }, { signal: deadline() })).status).toBe('rendered')
    expect(a.queue.readiness().state).toBe('degraded')
    expect(a.localRenderer.runs).toBe(2)

    await redis.restart()
    await Promise.all([readinessState(a.queue, 'ok'), readinessState(b.queue, 'ok')])
    expect((await b.service.get({ text: 'Restarted.' }, { signal: deadline() })).status).toBe('rendered')
    expect(clusterEngine.runsByText.get('Restarted.')).toBe(1)
    expect(unhandled).toEqual([])
  })
})
