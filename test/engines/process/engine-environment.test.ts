import { describe, expect, it } from 'vitest'
import { engineEnvironment, runEngineProcess } from '../../../src/engines/process/run-engine-process.js'

describe('engine environment', () => {
  it('drops the service secrets and keeps the rest', () => {
    const env = engineEnvironment({ PATH: '/bin', LANG: 'C.UTF-8', TTS_API_TOKEN: 't', FS_ESL_PASSWORD: 'p', REDIS_URL: 'redis://:pw@h', MY_SECRET_KEY: 'x', TTS_CACHE_DIR: '/c' })
    expect(env).toEqual({ PATH: '/bin', LANG: 'C.UTF-8', TTS_CACHE_DIR: '/c' })
  })

  it('never shows the API token or ESL password to an engine process', async () => {
    process.env['TTS_API_TOKEN'] = 'token-that-must-not-leak'
    process.env['FS_ESL_PASSWORD'] = 'password-that-must-not-leak'
    try {
      const result = await runEngineProcess('/usr/bin/env', [], { label: 'env', timeoutMs: 5000, killGraceMs: 100, captureStdout: true })
      expect(result.stdout).toContain('PATH=')
      expect(result.stdout).not.toContain('must-not-leak')
    } finally {
      delete process.env['TTS_API_TOKEN']
      delete process.env['FS_ESL_PASSWORD']
    }
  })
})
