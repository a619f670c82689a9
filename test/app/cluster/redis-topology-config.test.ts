/**
 * Which Redis the cluster path uses, from the settings operators write: REDIS_URL (one server),
 * REDIS_SENTINELS + REDIS_SENTINEL_NAME (Sentinel), REDIS_CLUSTER_NODES (Redis Cluster) — one of
 * them, each refused with a message naming the variable when it is malformed or ambiguous.
 */
import { describe, expect, it } from 'vitest'
import { clusterSettingsFrom, redisConfigured, redisTargetFrom } from '../../../src/app/cluster.js'
import { loadConfig } from '../../../src/config/load-config.js'
import { SECRET_KEYS } from '../../../src/config/schema.js'
import { isTtsError } from '../../../src/core/errors.js'
import { queuePrefixFor } from '../../../src/redis/redis-target.js'

function issuesOf(env: Record<string, string>): string[] {
  try {
    loadConfig({ env })
  } catch (err) {
    if (isTtsError(err, 'TTS_ERR_CONFIG')) return err.details['issues'] as string[]
    throw err
  }
  return []
}

describe('Redis topology settings', () => {
  it('reads a Sentinel setup: the Sentinels, the master name, both passwords', () => {
    const config = loadConfig({
      env: {
        REDIS_SENTINELS: '10.0.0.1:26379, 10.0.0.2:26379,[fd00::3]:26380',
        REDIS_SENTINEL_NAME: 'tts',
        REDIS_SENTINEL_PASSWORD: 'sentinel-secret',
        REDIS_PASSWORD: 'data-secret',
        TTS_REDIS_COMMAND_TIMEOUT_MS: '750',
      },
    })
    expect(redisConfigured(config)).toBe(true)
    expect(redisTargetFrom(config)).toEqual({
      kind: 'sentinel',
      sentinels: [
        { host: '10.0.0.1', port: 26379 },
        { host: '10.0.0.2', port: 26379 },
        { host: 'fd00::3', port: 26380 },
      ],
      name: 'tts',
      sentinelPassword: 'sentinel-secret',
      username: undefined,
      password: 'data-secret',
    })
    expect(clusterSettingsFrom(config).timeouts).toEqual({ commandTimeoutMs: 750, connectTimeoutMs: 2000 })
    expect(SECRET_KEYS).toEqual(expect.arrayContaining(['redisPassword', 'redisSentinelPassword']))
  })

  it('reads a Redis Cluster from its seed nodes, and hash-tags the queue prefix there only', () => {
    const config = loadConfig({ env: { REDIS_CLUSTER_NODES: 'redis-a:7000,redis-b:7001', TTS_REDIS_PREFIX: 'ivr' } })
    const target = redisTargetFrom(config)
    expect(target).toMatchObject({ kind: 'cluster', nodes: [{ host: 'redis-a', port: 7000 }, { host: 'redis-b', port: 7001 }] })
    expect(target !== undefined && queuePrefixFor(target, config.redisPrefix)).toBe('{ivr}')
    expect(queuePrefixFor({ kind: 'single', url: 'redis://x' }, 'ivr')).toBe('ivr')
    // The audio Redis defaults to the same cluster.
    expect(clusterSettingsFrom(config).audioRedis).toEqual(target)
  })

  it('keeps REDIS_URL as the single-server setting, and no Redis at all by default', () => {
    expect(redisTargetFrom(loadConfig({ env: { REDIS_URL: 'redis://:pw@queue:6379/1' } }))).toEqual({ kind: 'single', url: 'redis://:pw@queue:6379/1' })
    const none = loadConfig({ env: {} })
    expect(redisConfigured(none)).toBe(false)
    expect(redisTargetFrom(none)).toBeUndefined()
  })

  it('refuses two topologies, a Sentinel list without its master name, bad host:port items and a password given twice', () => {
    expect(issuesOf({ REDIS_URL: 'redis://a:6379', REDIS_CLUSTER_NODES: 'b:7000' }).join('\n')).toMatch(/one Redis topology, not REDIS_URL and REDIS_CLUSTER_NODES/)
    expect(issuesOf({ REDIS_SENTINELS: 'a:26379' }).join('\n')).toMatch(/REDIS_SENTINELS needs REDIS_SENTINEL_NAME/)
    expect(issuesOf({ REDIS_SENTINEL_NAME: 'm' }).join('\n')).toMatch(/need REDIS_SENTINELS/)
    expect(issuesOf({ REDIS_CLUSTER_NODES: 'a:7000,b' }).join('\n')).toMatch(/REDIS_CLUSTER_NODES.*not host:port: "b"/)
    expect(issuesOf({ REDIS_CLUSTER_NODES: 'a:70000' }).join('\n')).toMatch(/not host:port/)
    expect(issuesOf({ REDIS_CLUSTER_NODES: ' , ' }).join('\n')).toMatch(/at least one host:port/)
    expect(issuesOf({ REDIS_URL: 'redis://:pw@a:6379', REDIS_PASSWORD: 'pw2' }).join('\n')).toMatch(/put the user and password in the URL/)
    expect(issuesOf({ TTS_REDIS_COMMAND_TIMEOUT_MS: '10' }).join('\n')).toMatch(/TTS_REDIS_COMMAND_TIMEOUT_MS/)
  })
})
