/**
 * Redis Cluster (REDIS_CLUSTER_NODES): three real masters started by the test and joined with
 * `redis-cli --cluster create`. The queue's keys carry a hash tag (`{prefix}`) so BullMQ's
 * multi-key scripts run in one slot; the shared audio keys do not, so they spread over the
 * masters. Two serving nodes render a new sentence once and share its audio; and the service as
 * operators start it (env → loadConfig → buildApp, real espeak-ng) joins the same cluster.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { jobIdFor } from '../../../src/queue/bullmq/job-codec.js'
import { CountingRenderer } from '../../fakes/counting-renderer.js'
import { startWorkerAndClientNodes } from '../../harness/redis/test-nodes.js'
import { watchJobAdds } from '../../harness/redis/job-events.js'
import { redisServerInstalled, uniquePrefix } from '../../harness/redis/server.js'
import { clusterMasterOf, startRedisCluster, type ClusterSetup } from '../../harness/redis/topologies.js'
import { startTestApp } from '../../harness/app/test-app.js'
import { redisAudioKey } from '../../../src/store/shared/index.js'

describe.skipIf(!redisServerInstalled())('Redis Cluster (3 masters)', () => {
  let setup: ClusterSetup
  beforeAll(async () => {
    setup = await startRedisCluster()
  })
  afterAll(async () => {
    await setup.stop()
  })
  const cleanups: (() => Promise<unknown>)[] = []
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
  })

  it('renders a new sentence once for requests on two nodes, shares its audio, and keeps the queue in one slot', async () => {
    const prefix = uniquePrefix('cluster')
    const clusterEngine = new CountingRenderer()
    const { a, b } = await startWorkerAndClientNodes({ redisUrl: setup.target, prefix, renderer: clusterEngine, cleanups })
    const adds = await watchJobAdds(setup.target, prefix)
    cleanups.push(() => adds.close())

    clusterEngine.hold()
    const text = 'All lines are busy. Please hold.'
    const requests = Array.from({ length: 40 }, (_, i) => (i % 2 === 0 ? a : b).service.get({ text }))
    await adds.added(jobIdFor(a.service.resolve({ text }).key), 2)
    clusterEngine.release()
    const results = await Promise.all(requests)
    expect(clusterEngine.runs).toBe(1)
    expect([a.localRenderer.runs, b.localRenderer.runs]).toEqual([0, 0])
    expect(results.filter((r) => r.status === 'rendered')).toHaveLength(1)
    expect(results.filter((r) => r.status === 'coalesced')).toHaveLength(39)

    // Shared audio: sentences rendered through A are cluster hits on B (no job, no render)…
    const texts = ['Option one.', 'Option two.', 'Option three.', 'Option four.', 'Option five.', 'Option six.']
    for (const t of texts) expect((await a.service.get({ text: t })).status).toBe('rendered')
    for (const t of texts) expect((await b.service.get({ text: t })).status).toBe('hit')
    expect(b.queue.cluster.counters().sharedHits).toBe(texts.length)
    expect(clusterEngine.runs).toBe(1 + texts.length)
    // …and their keys spread over the masters, while every queue key shares the hash tag's slot.
    const audioMasters = new Set(await Promise.all(texts.map((t) => clusterMasterOf(setup, redisAudioKey(prefix, a.service.resolve({ text: t }).key)))))
    expect(audioMasters.size).toBeGreaterThan(1)
    const queueMasters = new Set(await Promise.all(['meta', 'events', 'wait', 'active'].map((k) => clusterMasterOf(setup, `{${prefix}}:render:${k}`))))
    expect(queueMasters.size).toBe(1)
    expect(a.queue.readiness()).toMatchObject({ ok: true, state: 'ok' })
  })

  it('joins the cluster as operators configure it (REDIS_CLUSTER_NODES → loadConfig → buildApp): two apps render a sentence once with real espeak-ng', async () => {
    const prefix = uniquePrefix('cluster-app')
    const env = { REDIS_CLUSTER_NODES: setup.seeds, TTS_REDIS_PREFIX: prefix }
    // One app renders for the cluster (its in-process worker: real espeak-ng + sox); the other only serves.
    const renderer = await startTestApp({ ...env, TTS_WORKER_CONCURRENCY: '2' })
    cleanups.push(() => renderer.close())
    const server = await startTestApp({ ...env, TTS_WORKERS_IN_PROCESS: 'false' })
    cleanups.push(() => server.close())
    expect(renderer.app.cluster).toBeDefined()
    expect(server.app.cluster).toBeDefined()
    await Promise.all([renderer.app.cluster?.cluster.whenStarted(), renderer.app.cluster?.worker?.whenReady(), server.app.cluster?.cluster.whenStarted()])

    const text = 'Welcome to the cluster.'
    const results = await Promise.all([server.app.service.get({ text }), renderer.app.service.get({ text }), server.app.service.get({ text }), renderer.app.service.get({ text })])
    expect(new Set(results.map((r) => r.key)).size).toBe(1)
    // One engine run in all, whichever request came first: the serving-only app never rendered.
    expect(renderer.renders() + server.renders()).toBe(1)
    expect(server.renders()).toBe(0)
    expect(server.app.cluster?.backendCounts().local).toBe(0)
    for (const app of [renderer, server]) {
      const readiness = await app.app.readiness()
      expect(readiness.checks['redis']).toMatchObject({ ok: true, state: 'ok' })
    }
  })
})
