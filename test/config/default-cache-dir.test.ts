import { describe, expect, it } from 'vitest'
import { defaultCacheDir, SYSTEM_CACHE_DIR } from '../../src/config/default-cache-dir.js'
import { unknownEnvWarnings } from '../../src/config/env-check.js'
import { loadConfig } from '../../src/config/load-config.js'

const probe = (uid: number, writable: boolean) => ({ uid, writable: () => writable, home: () => '/home/fallback' })

describe('defaultCacheDir: one rule for every command', () => {
  it('is /var/lib/tts-cache for root and for a user who can write it, else the XDG cache', () => {
    expect(defaultCacheDir({ HOME: '/root' }, probe(0, false))).toBe(SYSTEM_CACHE_DIR)
    expect(defaultCacheDir({ HOME: '/home/svc' }, probe(998, true))).toBe(SYSTEM_CACHE_DIR)
    expect(defaultCacheDir({ HOME: '/home/ann' }, probe(1000, false))).toBe('/home/ann/.cache/tts-cache')
    expect(defaultCacheDir({ HOME: '/home/ann', XDG_CACHE_HOME: '/xdg' }, probe(1000, false))).toBe('/xdg/tts-cache')
    // A relative XDG_CACHE_HOME is invalid by the spec: ignored.
    expect(defaultCacheDir({ HOME: '/home/ann', XDG_CACHE_HOME: 'rel' }, probe(1000, false))).toBe('/home/ann/.cache/tts-cache')
    expect(defaultCacheDir({}, probe(1000, false))).toBe('/home/fallback/.cache/tts-cache')
  })

  it('is what loadConfig uses when nothing sets the directory', () => {
    expect(loadConfig({ env: {} }).cacheDir).toBe(defaultCacheDir({}))
    expect(loadConfig({ env: { TTS_CACHE_DIR: '/tmp/set' } }).cacheDir).toBe('/tmp/set')
  })
})

describe('unknownEnvWarnings', () => {
  it('warns about TTS_* and FS_ESL_* names that are no setting, suggesting the closest', () => {
    expect(unknownEnvWarnings({ TTS_CACHE_DRI: '/x', FS_ESL_PASWORD: 'p', TTS_CACHE_DIR: '/y', TTS_CONFIG: 'f', HOME: '/h', REDIS_HOST: 'r', TTS_WHATEVER_ELSE_ENTIRELY: '1' })).toEqual([
      'FS_ESL_PASWORD is not a setting (did you mean FS_ESL_PASSWORD?)',
      'TTS_CACHE_DRI is not a setting (did you mean TTS_CACHE_DIR?)',
      'TTS_WHATEVER_ELSE_ENTIRELY is not a setting (ignored; docs/configuration.md lists them)',
    ])
  })
})

describe('Redis URLs', () => {
  it('refuses a REDIS_URL that is not a redis:// or rediss:// URL, naming the variable and hiding the password', () => {
    let issues: string[] = []
    try {
      loadConfig({ env: { REDIS_URL: 'notaurl', TTS_AUDIO_REDIS_URL: 'http://user:sekret@h:6379' } })
    } catch (error) {
      issues = (error as { details: { issues: string[] } }).details.issues
    }
    expect(issues).toEqual([
      'REDIS_URL=notaurl: must be a redis:// or rediss:// URL with a host, e.g. redis://127.0.0.1:6379 or rediss://user:password@redis.example:6380/0',
      'TTS_AUDIO_REDIS_URL=http://[redacted]@h:6379: must be a redis:// or rediss:// URL with a host, e.g. redis://127.0.0.1:6379 or rediss://user:password@redis.example:6380/0',
    ])
    expect(loadConfig({ env: { REDIS_URL: 'rediss://u:p@redis.example:6380/1' } }).redisUrl).toBe('rediss://u:p@redis.example:6380/1')
  })
})
