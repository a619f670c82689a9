/**
 * Redis Sentinel (REDIS_SENTINELS + REDIS_SENTINEL_NAME): a real master, a real replica and a real
 * Sentinel started by the test. Two serving nodes find the master through the Sentinel: a new
 * sentence asked on both renders once, the audio is shared (a cluster hit on the other node), and
 * after `SENTINEL FAILOVER` both nodes follow the promoted replica without a restart.
 */
import { Redis } from 'ioredis'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import type { ClusterQueue } from '../../../src/app/cluster.js'
import { jobIdFor } from '../../../src/queue/bullmq/job-codec.js'
import { CountingRenderer } from '../../fakes/counting-renderer.js'
import { startWorkerAndClientNodes, type TestNode } from '../../harness/redis/test-nodes.js'
import { watchJobAdds } from '../../harness/redis/job-events.js'
import { redisServerInstalled, uniquePrefix } from '../../harness/redis/server.js'
import { startSentinelSetup, type SentinelSetup } from '../../harness/redis/topologies.js'
import { redisAudioKey } from '../../../src/store/shared/index.js'

/** Resolves once the node's cluster path went unavailable and then available again (it reconnected). */
function reconnected(queue: ClusterQueue): Promise<void> {
  let lost = false
  return new Promise((resolve) => {
    const off = queue.cluster.onAvailabilityChange((available) => {
      if (!available) lost = true
      else if (lost) {
        off()
        resolve()
      }
    })
  })
}

async function existsOn(port: number, key: string): Promise<boolean> {
  const client = new Redis({ port, host: '127.0.0.1', maxRetriesPerRequest: 1 })
  try {
    return (await client.exists(key)) === 1
  } finally {
    client.disconnect()
  }
}

describe.skipIf(!redisServerInstalled())('Redis Sentinel', () => {
  let setup: SentinelSetup
  beforeAll(async () => {
    setup = await startSentinelSetup()
  })
  afterAll(async () => {
    await setup.stop()
  })
  const cleanups: (() => Promise<unknown>)[] = []
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
  })

  const twoNodes = (prefix: string, clusterEngine: CountingRenderer): Promise<{ a: TestNode; b: TestNode }> =>
    startWorkerAndClientNodes({ redisUrl: setup.target, prefix, renderer: clusterEngine, cleanups })

  it('renders a new sentence once for requests on two nodes, through the master the Sentinel names, and shares its audio', async () => {
    const prefix = uniquePrefix('sentinel')
    const clusterEngine = new CountingRenderer()
    const { a, b } = await twoNodes(prefix, clusterEngine)
    const adds = await watchJobAdds(setup.target, prefix)
    cleanups.push(() => adds.close())

    clusterEngine.hold()
    const text = 'Your call is important to us.'
    const requests = Array.from({ length: 40 }, (_, i) => (i % 2 === 0 ? a : b).service.get({ text }))
    const key = a.service.resolve({ text }).key
    await adds.added(jobIdFor(key), 2)
    clusterEngine.release()
    const results = await Promise.all(requests)
    expect(clusterEngine.runs).toBe(1)
    expect([a.localRenderer.runs, b.localRenderer.runs]).toEqual([0, 0])
    expect(results.filter((r) => r.status === 'rendered')).toHaveLength(1)
    expect(results.filter((r) => r.status === 'coalesced')).toHaveLength(39)

    // The shared audio tier: A renders, B finds the published WAV (a cluster hit, no job).
    expect((await a.service.get({ text: 'Press one for sales.' })).status).toBe('rendered')
    expect((await b.service.get({ text: 'Press one for sales.' })).status).toBe('hit')
    expect(b.queue.cluster.counters().sharedHits).toBe(1)
    expect(clusterEngine.runs).toBe(2)
    // …and it lives on the master the Sentinel named.
    const shared = redisAudioKey(prefix, a.service.resolve({ text: 'Press one for sales.' }).key)
    expect(await existsOn(await setup.masterPort(), shared)).toBe(true)
  })

  it('follows a failover: the nodes move to the promoted replica and render through the cluster again', async () => {
    const prefix = uniquePrefix('failover')
    const clusterEngine = new CountingRenderer()
    const { a, b } = await twoNodes(prefix, clusterEngine)
    expect((await b.service.get({ text: 'Before the failover.' })).status).toBe('rendered')
    expect(clusterEngine.runs).toBe(1)

    const moved = Promise.all([reconnected(a.queue), reconnected(b.queue)])
    const newMaster = await setup.failover()
    expect(newMaster).toBe(setup.replica.port)
    await moved

    expect((await b.service.get({ text: 'After the failover.' })).status).toBe('rendered')
    expect(clusterEngine.runsByText.get('After the failover.')).toBe(1)
    expect(b.localRenderer.runs).toBe(0)
    expect((await a.service.get({ text: 'After the failover.' })).status).toBe('hit')
    const shared = redisAudioKey(prefix, a.service.resolve({ text: 'After the failover.' }).key)
    expect(await existsOn(newMaster, shared)).toBe(true)
    expect(a.queue.readiness().state).toBe('ok')
  })
})
