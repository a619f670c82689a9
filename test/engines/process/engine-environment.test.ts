import { describe, expect, it } from 'vitest'
import { engineEnvironment, freezeEngineEnvironment } from '../../../src/engines/process/engine-environment.js'
import { runEngineProcess } from '../../../src/engines/process/run-engine-process.js'

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

  const envOf = async (): Promise<string> => (await runEngineProcess('/usr/bin/env', [], { label: 'env', timeoutMs: 5000, killGraceMs: 100, captureStdout: true })).stdout

  it('reads this process environment at every process start (in process, where tests and callers may change it)', async () => {
    await envOf()
    process.env['TTS_TEST_LATE_VARIABLE'] = 'set-after-a-first-start'
    try {
      expect(await envOf()).toContain('TTS_TEST_LATE_VARIABLE=set-after-a-first-start')
    } finally {
      delete process.env['TTS_TEST_LATE_VARIABLE']
    }
  })

  it('frozen (the render host, whose environment never changes): computed once, secrets still removed, later changes not read', async () => {
    process.env['FS_ESL_PASSWORD'] = 'password-that-must-not-leak'
    process.env['TTS_TEST_FROZEN_VARIABLE'] = 'there-when-frozen'
    const thaw = freezeEngineEnvironment()
    try {
      delete process.env['TTS_TEST_FROZEN_VARIABLE']
      process.env['TTS_TEST_LATE_VARIABLE'] = 'set-after-freezing'
      const seen = await envOf()
      expect(seen).toContain('TTS_TEST_FROZEN_VARIABLE=there-when-frozen')
      expect(seen).not.toContain('TTS_TEST_LATE_VARIABLE')
      expect(seen).not.toContain('must-not-leak')
    } finally {
      thaw()
      delete process.env['FS_ESL_PASSWORD']
      delete process.env['TTS_TEST_FROZEN_VARIABLE']
      delete process.env['TTS_TEST_LATE_VARIABLE']
    }
    expect(await envOf()).not.toContain('TTS_TEST_FROZEN_VARIABLE')
  })
})
