import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { redisAudioKey, RedisSharedAudio } from '../../../src/store/shared/index.js'
import { jobFor, SAMPLE_RATE } from '../../harness/queue/render-jobs.js'
import { testLogger } from '../../fakes/loggers.js'
import { wavFor } from '../../fakes/wav.js'
import { startTestRedis, uniquePrefix, type TestRedis } from '../../harness/redis/server.js'

let redis: TestRedis
let client: Redis
beforeAll(async () => {
  redis = await startTestRedis()
  client = new Redis(redis.url)
})
afterAll(async () => {
  client.disconnect()
  await redis.stop()
})

describe('RedisSharedAudio', () => {
  it('publishes the WAV and its TTL in one entry at <prefix>:audio:<key>', async () => {
    const prefix = uniquePrefix('audio')
    const tier = new RedisSharedAudio({ client, prefix, ttlSeconds: 60, logger: testLogger() })
    const { key } = jobFor('Hello.', '')
    const wav = wavFor('Hello.')
    await tier.publish(key, { path: '/unused', wav, durationMs: 200 })
    expect(await client.hgetBuffer(redisAudioKey(prefix, key), 'wav')).toEqual(wav)
    const ttl = await client.ttl(redisAudioKey(prefix, key))
    expect(ttl).toBeGreaterThan(0)
    expect(ttl).toBeLessThanOrEqual(60)
  })

  it('drops an entry that is not a valid WAV when a node looks it up', async () => {
    const prefix = uniquePrefix('audio')
    const tier = new RedisSharedAudio({ client, prefix, ttlSeconds: 60, logger: testLogger() })
    const { key } = jobFor('Broken.', '')
    await client.hset(redisAudioKey(prefix, key), 'wav', Buffer.from('not a wav'), 'durationMs', '10')
    expect(await tier.findPublished(key, SAMPLE_RATE)).toBeUndefined()
    expect(await client.exists(redisAudioKey(prefix, key))).toBe(0)
  })

  it('refuses to stage a render when it is a node’s tier (no worker temp dir)', async () => {
    const tier = new RedisSharedAudio({ client, prefix: uniquePrefix('audio'), ttlSeconds: 60, logger: testLogger() })
    await expect(tier.stagingPath(jobFor('x', '').key, undefined, 'u')).rejects.toThrow(/staging dir/)
  })
})
