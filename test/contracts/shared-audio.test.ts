/** The SharedAudio contract against both tiers: Redis (a real redis-server) and a shared directory. */
import { rm } from 'node:fs/promises'
import path from 'node:path'
import { Redis } from 'ioredis'
import { afterAll, beforeAll } from 'vitest'
import { RedisSharedAudio, SharedDirAudio } from '../../src/store/shared/index.js'
import { tempDir } from '../harness/redis/test-nodes.js'
import { testLogger } from '../fakes/loggers.js'
import { startTestRedis, uniquePrefix, type TestRedis } from '../harness/redis/server.js'
import { sharedAudioContract } from './shared-audio-contract.js'

let redis: TestRedis
beforeAll(async () => {
  redis = await startTestRedis()
})
afterAll(async () => {
  await redis.stop()
})

sharedAudioContract('Redis', async () => {
  const client = new Redis(redis.url)
  const nodeDir = await tempDir('shared-redis-node')
  const workerDir = await tempDir('shared-redis-worker')
  const tier = new RedisSharedAudio({ client, prefix: uniquePrefix('shared'), ttlSeconds: 60, stagingDir: () => Promise.resolve(workerDir), logger: testLogger() })
  return {
    tier,
    outPathFor: (key, label) => Promise.resolve(path.join(nodeDir, `${key}.${label}.tmp`)),
    cleanup: async () => {
      client.disconnect()
      await Promise.all([rm(nodeDir, { recursive: true, force: true }), rm(workerDir, { recursive: true, force: true })])
    },
  }
})

sharedAudioContract('shared directory', async () => {
  const root = await tempDir('shared-dir')
  const tier = new SharedDirAudio({ root })
  return {
    tier,
    outPathFor: (key, label) => Promise.resolve(path.join(root, `${key}.${label}.tmp`)),
    cleanup: () => rm(root, { recursive: true, force: true }),
  }
})
