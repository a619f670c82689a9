/**
 * The ioredis options per role, pinned: BullMQ requires `maxRetriesPerRequest: null` on the
 * clients its Worker and QueueEvents block on, and a command timeout there would cut their
 * blocking reads short; the clients a caller waits on fail fast and time out.
 */
import { Cluster, Redis } from 'ioredis'
import { describe, expect, it } from 'vitest'
import { createRedisClient, newRedisClient, redisOptionsFor } from '../../src/redis/redis-connections.js'
import { singleRedis } from '../../src/redis/redis-target.js'
import { RecordingLogger } from '../fakes/recording-logger.js'
import { freePort } from '../harness/freeswitch/freeswitch.js'
import { isCommandTimeout, redisErrorForLog } from '../../src/redis/redis-errors.js'

const timeouts = { commandTimeoutMs: 700, connectTimeoutMs: 1500 }

describe('redis client options', () => {
  it('lets blocking clients wait through outages with no command timeout, and bounds the others', () => {
    expect(redisOptionsFor('blocking', 'events', timeouts)).toMatchObject({ maxRetriesPerRequest: null, enableOfflineQueue: true, connectTimeout: 1500 })
    expect(redisOptionsFor('blocking', 'events', timeouts)).not.toHaveProperty('commandTimeout')
    expect(redisOptionsFor('producer', 'queue', timeouts)).toMatchObject({ maxRetriesPerRequest: 1, enableOfflineQueue: false, commandTimeout: 700, connectTimeout: 1500 })
    expect(redisOptionsFor('publisher', 'worker-audio', timeouts)).toMatchObject({ maxRetriesPerRequest: 2, enableOfflineQueue: true, commandTimeout: 700 })
  })

  it('builds a Sentinel client that follows failovers and a Cluster client whose nodes carry the role options', () => {
    const sentinel = newRedisClient({ kind: 'sentinel', sentinels: [{ host: '127.0.0.1', port: 1 }], name: 'm', password: 'p', sentinelPassword: 's' }, 'blocking', 'worker', timeouts, true)
    expect(sentinel).toBeInstanceOf(Redis)
    expect(sentinel.options).toMatchObject({ name: 'm', role: 'master', failoverDetector: true, password: 'p', sentinelPassword: 's', maxRetriesPerRequest: null })
    sentinel.disconnect()
    const cluster = newRedisClient({ kind: 'cluster', nodes: [{ host: '127.0.0.1', port: 1 }] }, 'producer', 'queue', timeouts, true)
    expect(cluster).toBeInstanceOf(Cluster)
    expect((cluster as Cluster).options).toMatchObject({ enableOfflineQueue: false, redisOptions: { commandTimeout: 700, maxRetriesPerRequest: 1 } })
    cluster.disconnect()
  })

  it('logs an error without the arguments of its command (an AUTH carries the password)', () => {
    const err = Object.assign(new Error('WRONGPASS invalid username-password pair'), { command: { name: 'auth', args: ['default', 'hunter2-secret'] } })
    const logged = JSON.stringify(redisErrorForLog(err))
    expect(logged).toContain('WRONGPASS')
    expect(logged).toContain('"command":"auth"')
    expect(logged).not.toContain('hunter2-secret')
    expect(isCommandTimeout(new Error('Command timed out'))).toBe(true)
    expect(isCommandTimeout(new Error('Connection is closed.'))).toBe(false)
  })

  it('names the setting to change when Redis cannot be reached (REDIS_URL, TTS_AUDIO_REDIS_URL)', async () => {
    // A real connection to a port nothing listens on: ioredis reports ECONNREFUSED.
    const port = await freePort()
    const log = new RecordingLogger()
    const queue = createRedisClient(singleRedis(`redis://127.0.0.1:${port}`), 'producer', 'queue', log, timeouts)
    const audio = createRedisClient(singleRedis(`redis://127.0.0.1:${port}/1`), 'producer', 'audio', log, timeouts)
    try {
      const failed = await log.waitFor((r) => r.msg === 'redis connection error' && r.obj['redis'] === 'queue')
      expect(failed.level).toBe('warn')
      expect(failed.obj['setting']).toBe('REDIS_URL')
      const audioFailed = await log.waitFor((r) => r.msg === 'redis connection error' && r.obj['redis'] === 'audio')
      expect(audioFailed.obj['setting']).toBe('TTS_AUDIO_REDIS_URL (REDIS_URL when unset)')
    } finally {
      queue.disconnect()
      audio.disconnect()
    }
  })
})
