/**
 * Cluster-wide once-per-key: 3 serving nodes (each its own TtsService, disk store in its own temp
 * dir and BullMQ client) and 2 render workers on one Redis. 300 concurrent requests for one new
 * sentence, spread over the nodes, make exactly one engine run, and every node serves the same bytes.
 */
import { readFile } from 'node:fs/promises'
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest'
import { startWorker, type RenderWorkerHandle } from '../../../src/app/cluster.js'
import { jobIdFor } from '../../../src/queue/bullmq/job-codec.js'
import { clusterConfig, sha256Of, startTestNode, type TestNode } from '../../harness/redis/test-nodes.js'
import { CountingRenderer } from '../../fakes/counting-renderer.js'
import { testLogger } from '../../fakes/loggers.js'
import { wavFor } from '../../fakes/wav.js'
import { watchJobAdds } from '../../harness/redis/job-events.js'
import { startTestRedis, uniquePrefix, type TestRedis } from '../../harness/redis/server.js'

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

it('renders a new sentence once for 300 concurrent requests over 3 nodes and 2 workers, and every node serves the same bytes', async () => {
  const prefix = uniquePrefix('once')
  const engines = [new CountingRenderer(), new CountingRenderer()]
  const workers: RenderWorkerHandle[] = engines.map((engine, i) =>
    startWorker({ config: clusterConfig(redis.url, prefix), logger: testLogger(), renderer: engine.render, name: `w${i}` }),
  )
  for (const worker of workers) cleanups.push(() => worker.close(2000))
  const nodes: TestNode[] = []
  for (let i = 0; i < 3; i++) {
    const node = await startTestNode({ redisUrl: redis.url, prefix })
    cleanups.push(() => node.close())
    nodes.push(node)
  }
  await Promise.all([...workers.map((w) => w.whenReady()), ...nodes.map((n) => n.queue.cluster.whenStarted())])
  const adds = await watchJobAdds(redis.url, prefix)
  cleanups.push(() => adds.close())

  for (const engine of engines) engine.hold()
  const text = 'Thank you for calling. All of our agents are busy.'
  const requests = Array.from({ length: 300 }, (_, i) => nodes[i % 3]!.service.get({ text }, { source: 'http' }))
  // Release the render only once every node has asked the cluster for it.
  const key = nodes[0]!.service.resolve({ text }).key
  await adds.added(jobIdFor(key), 3)
  for (const engine of engines) engine.release()
  const results = await Promise.all(requests)

  expect(engines[0]!.runs + engines[1]!.runs).toBe(1)
  expect(nodes.map((n) => n.localRenderer.runs)).toEqual([0, 0, 0])
  expect(nodes.map((n) => n.queue.backendCounts().cluster)).toEqual([1, 1, 1])
  const files = [...new Set(results.map((r) => r.path))]
  expect(files).toHaveLength(3)
  const digests = await Promise.all(files.map(async (file) => sha256Of(await readFile(file))))
  expect(new Set(digests)).toEqual(new Set([sha256Of(wavFor(text))]))
  // Cluster-wide status words: the node whose job the worker ran says `rendered`; every other
  // request, on any node, joined that render and says `coalesced`.
  expect(results.filter((r) => r.status === 'rendered')).toHaveLength(1)
  expect(results.filter((r) => r.status === 'coalesced')).toHaveLength(299)
})
