import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { isTtsError } from '../../src/core/errors.js'
import { loadConfig } from '../../src/config/load-config.js'
import { ENV_NAMES } from '../../src/config/schema.js'

function issuesOf(fn: () => unknown): string[] {
  try {
    fn()
  } catch (err) {
    if (isTtsError(err, 'TTS_ERR_CONFIG')) return err.details['issues'] as string[]
    throw err
  }
  return []
}

describe('loadConfig', () => {
  it('starts from the embedded defaults and freezes the result', () => {
    const config = loadConfig({ env: {} })
    expect(config).toMatchObject({ engine: 'espeak-ng', sampleRate: 8000, eslPort: 8040, httpPort: 8080, queueLimit: 1000, maxCacheBytes: 1024 ** 3 })
    expect(Object.isFrozen(config)).toBe(true)
  })

  it('reads the documented environment variables, with units and strict booleans', () => {
    const config = loadConfig({
      env: { TTS_CACHE_DIR: '/tmp/c', TTS_CACHE_MAX_BYTES: '512MiB', TTS_SAMPLE_RATE: '16000', TTS_AUTH_ALL_ROUTES: 'false', TTS_COMMAND: '["/bin/tts","{out}"]' },
    })
    expect(config).toMatchObject({ cacheDir: '/tmp/c', maxCacheBytes: 512 * 1024 ** 2, sampleRate: 16000, authAllRoutes: false, command: ['/bin/tts', '{out}'] })
  })

  it('lets the environment win over the config file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cfg-'))
    const file = join(dir, 'c.json')
    writeFileSync(file, JSON.stringify({ voice: 'from-file', queueLimit: 5 }))
    expect(loadConfig({ env: { TTS_VOICE: 'from-env' }, file })).toMatchObject({ voice: 'from-env', queueLimit: 5 })
  })

  it('reports every problem at once, naming the variable', () => {
    const issues = issuesOf(() =>
      loadConfig({ env: { TTS_ENGINE: 'festival', TTS_SAMPLE_RATE: '12345', TTS_AUTH_ALL_ROUTES: 'flase', TTS_COMMAND: 'rm -rf /', TTS_ESL_PORT: '70000' } }),
    )
    expect(issues).toHaveLength(5)
    for (const name of ['TTS_ENGINE', 'TTS_SAMPLE_RATE', 'TTS_AUTH_ALL_ROUTES', 'TTS_COMMAND', 'TTS_ESL_PORT']) {
      expect(issues.some((i) => i.startsWith(name))).toBe(true)
    }
  })

  it('rejects unknown keys in the file and a command engine without a template', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cfg-'))
    const file = join(dir, 'c.json')
    writeFileSync(file, JSON.stringify({ cachedir: '/x', engine: 'command' }))
    const issues = issuesOf(() => loadConfig({ env: {}, file }))
    expect(issues.some((i) => i.includes('cachedir') && i.includes('unknown'))).toBe(true)
    expect(issues.some((i) => i.includes('TTS_COMMAND'))).toBe(true)
  })

  it.each(['javascript:alert(1)', 'ftp://tts.example/', 'https://user:pw@tts.example/', 'https://tts.example/?a=1', 'https://tts.example/#x', 'tts.example'])(
    'refuses TTS_PUBLIC_URL=%s (it prefixes every url handed out)',
    (value) => {
      expect(issuesOf(() => loadConfig({ env: { TTS_PUBLIC_URL: value } })).join('\n')).toMatch(/TTS_PUBLIC_URL/)
    },
  )

  it('takes an http(s) TTS_PUBLIC_URL with a path', () => {
    expect(loadConfig({ env: { TTS_PUBLIC_URL: 'https://tts.example.com/base/' } }).publicUrl).toBe('https://tts.example.com/base/')
  })

  it('documents every environment variable in docs/configuration.md', () => {
    const doc = readFileSync(new URL('../../docs/configuration.md', import.meta.url), 'utf8')
    for (const [name, key] of Object.entries(ENV_NAMES)) {
      expect(doc, name).toContain(`| \`${name}\` | \`${key}\` |`)
    }
  })
})
