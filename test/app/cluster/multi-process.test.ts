/**
 * The cluster as separate OS processes: 3 serving nodes and 2 render workers, each its own
 * `node` process, sharing only Redis. Proves once-per-key does not depend on sharing memory.
 */
import { readFile } from 'node:fs/promises'
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest'
import { jobIdFor } from '../../../src/queue/bullmq/job-codec.js'
import { spawnClusterChild, type ClusterChild } from '../../harness/redis/child.js'
import { jobFor } from '../../harness/queue/render-jobs.js'
import { sha256Of } from '../../harness/redis/test-nodes.js'
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

const children: ClusterChild[] = []
afterEach(async () => {
  await Promise.all(children.splice(0).map((child) => child.kill('SIGKILL')))
})

it('renders once for 300 requests spread over 3 node processes, with 2 worker processes, and all nodes hold identical bytes', async () => {
  const prefix = uniquePrefix('procs')
  const workers = [0, 1].map(() => spawnClusterChild('cluster-worker.ts', [redis.url, prefix, 'hold']))
  const nodes = [0, 1, 2].map(() => spawnClusterChild('cluster-node.ts', [redis.url, prefix]))
  children.push(...workers, ...nodes)
  await Promise.all([...workers, ...nodes].map((child) => child.next('ready')))
  expect(new Set([...workers, ...nodes].map((c) => c.pid)).size).toBe(5)
  const adds = await watchJobAdds(redis.url, prefix)

  const text = 'Your estimated wait time is less than two minutes.'
  for (const node of nodes) node.send({ cmd: 'get', text, count: 100 })
  await adds.added(jobIdFor(jobFor(text, '').key), 3)
  await adds.close()
  for (const worker of workers) worker.send({ cmd: 'release' })
  const answers = await Promise.all(nodes.map((node) => node.next('got')))

  for (const worker of workers) worker.send({ cmd: 'stats' })
  const runs = await Promise.all(workers.map(async (worker) => (await worker.next('stats'))['runs'] as number))
  expect(runs[0]! + runs[1]!).toBe(1)
  for (const answer of answers) {
    expect(answer['failures']).toEqual([])
    expect(answer['counts']).toMatchObject({ cluster: 1, local: 0 })
  }
  const paths = answers.flatMap((answer) => answer['paths'] as string[])
  expect(paths).toHaveLength(3)
  const digests = await Promise.all(paths.map(async (file) => sha256Of(await readFile(file))))
  expect(new Set(digests)).toEqual(new Set([sha256Of(wavFor(text))]))

  for (const child of [...nodes, ...workers]) child.send({ cmd: 'exit' })
  expect(await Promise.all([...nodes, ...workers].map((child) => child.exited))).toEqual([0, 0, 0, 0, 0])
})
